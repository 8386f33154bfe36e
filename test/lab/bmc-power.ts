// The chassis_control program of a lab BMC (see bmc.ts). ipmi_sim runs it through popen as
//   bmc-power.ts NODE_DIR get power          -> prints "power:1" or "power:0"
//   bmc-power.ts NODE_DIR set power 1|0      -> the lab's start of the VM | kill -9 of its QEMU by pidfile
//   bmc-power.ts NODE_DIR set reset 1        -> QMP system_reset (fails when the VM is off)
//   bmc-power.ts NODE_DIR set shutdown 1     -> QMP system_powerdown (the soft "power button")
// ipmi_sim waits for it, so every action returns as soon as it is done (a start does not wait for
// the guest to boot). Each action is logged with its duration to bmc/actions.log.
// ipmi_sim's UDP socket lacks close-on-exec, so popen hands it to this program; it goes no further:
// Node's spawn (libuv) closes every descriptor above stdio in its children, so a QEMU started here
// never keeps the BMC's port bound after ipmi_sim dies (checked: the child saw only its stdio).
import { appendFileSync } from 'node:fs';
import { bmcFiles } from './bmc.js';
import { qmpCommand } from './qmp.js';
import { readVmSpec, startVm, stopVm, vmFiles, vmPid } from './vm.js';

async function act(dir: string, what: string, value: string): Promise<string> {
  if (what === 'power' && value === '0') return (await stopVm(dir, 'SIGKILL')) ? 'killed' : 'was off';
  if (what === 'power' && value === '1') return vmPid(dir) ? 'was on' : `started PID ${await startVm(readVmSpec(dir))}`;
  if (what === 'reset' || what === 'shutdown') {
    if (!vmPid(dir)) throw new Error('the VM is off');
    await qmpCommand(vmFiles(dir).qmp, what === 'reset' ? 'system_reset' : 'system_powerdown');
    return 'done';
  }
  return 'ignored';
}

async function main(argv: string[]): Promise<number> {
  if (!(process.env.PATH ?? '').includes('/usr/sbin')) process.env.PATH = `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/sbin:/sbin`;
  const [dir, verb, ...rest] = argv;
  if (!dir || (verb !== 'get' && verb !== 'set')) {
    process.stderr.write('usage: bmc-power.ts NODE_DIR get power | set power 0|1 | set reset 1\n');
    return 2;
  }
  const log = (line: string) => {
    try {
      appendFileSync(bmcFiles(dir).actions, `${new Date().toISOString()} ${line}\n`);
    } catch {}
  };
  if (verb === 'get') {
    // ipmi_sim asks for named values ("get power"); answer the ones it knows.
    for (const what of rest) if (what === 'power') process.stdout.write(`power:${vmPid(dir) ? 1 : 0}\n`);
    return 0;
  }
  let code = 0;
  for (let k = 0; k + 1 < rest.length; k += 2) {
    const what = rest[k] ?? '';
    const value = (rest[k + 1] ?? '').replace(/"/g, '');
    const t0 = Date.now();
    try {
      const result = await act(dir, what, value);
      log(`set ${what} ${value}: ${result} (${Date.now() - t0} ms)`);
    } catch (e) {
      log(`set ${what} ${value}: FAILED ${e instanceof Error ? e.message : String(e)} (${Date.now() - t0} ms)`);
      process.stderr.write(`bmc-power: set ${what} ${value}: ${e instanceof Error ? e.message : String(e)}\n`);
      code = 1;
    }
  }
  return code;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    process.stderr.write(`bmc-power: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
