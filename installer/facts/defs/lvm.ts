import { findCommand, type FactDefinition } from '../fact.js';
import type { LvmFacts } from '../types.js';

/** `pvs --reportformat json`: { report: [ { pv: [ { pv_name, vg_name, pv_size, pv_free } ] } ] } */
interface PvsJson {
  report?: { pv?: { pv_name: string; vg_name: string; pv_size?: string; pv_free?: string }[]; vg?: { vg_name: string; vg_size?: string; vg_free?: string }[] }[];
}

const bytes = (text: string | undefined): number | null => {
  if (text === undefined) return null;
  const n = Number(text.replace(/B$/, ''));
  return Number.isFinite(n) ? n : null;
};

export const lvmFact: FactDefinition<LvmFacts> = {
  name: 'lvm',
  // Read-only: pvs/vgs only read metadata. Without lvm2 installed the commands are missing, which
  // means no LVM at all (an empty list), not an unknown.
  script: `hv_cmd pvs pvs --reportformat json --units b -o pv_name,vg_name,pv_size,pv_free
hv_cmd vgs vgs --reportformat json --units b -o vg_name,vg_size,vg_free`,
  parse(section) {
    const pvs = findCommand(section, 'pvs');
    const vgs = findCommand(section, 'vgs');
    if (!pvs || pvs.missing !== null) return { physicalVolumes: [], volumeGroups: [] };
    const pvJson = JSON.parse(pvs.stdout || '{}') as PvsJson;
    const vgJson = vgs && vgs.missing === null && vgs.stdout.trim() ? (JSON.parse(vgs.stdout) as PvsJson) : {};
    return {
      physicalVolumes: (pvJson.report?.[0]?.pv ?? []).map((pv) => ({ device: pv.pv_name, volumeGroup: pv.vg_name || null, sizeBytes: bytes(pv.pv_size), freeBytes: bytes(pv.pv_free) })),
      volumeGroups: (vgJson.report?.[0]?.vg ?? []).map((vg) => ({ name: vg.vg_name, sizeBytes: bytes(vg.vg_size), freeBytes: bytes(vg.vg_free) })),
    };
  },
};
