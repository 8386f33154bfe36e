/**
 * Every test runs as it does at a developer's terminal, whether or not the CI variable is set: ink (through
 * is-in-ci, read once at import) shows nothing but the final frame when CI is set, and the component tests
 * read every frame. Tests about the CI variable itself pass it explicitly to the code they test.
 */
delete process.env.CI;
delete process.env.CONTINUOUS_INTEGRATION;
