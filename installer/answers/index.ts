/**
 * The answer file (site.yaml): schema, loading with file:line:col errors, defaults, validation,
 * secret references, the commented example, writing answers back, and the JSON Schema for editors.
 */
export { API_VERSION, KIND, AnswersSchema, BOND_MODES, SecretRefSchema } from './schema.js';
export type { Answers, AnswersInput, BackupAnswers, GuestAnswers, NodeAnswers, SecretRef } from './schema.js';
export { loadAnswerFile, parseAnswers, checkAnswerText, checkAnswers } from './load.js';
export type { LoadedAnswers } from './load.js';
export { validateAnswers } from './validate.js';
export { AnswerFileError, formatIssue, formatPath, sortIssues } from './issues.js';
export type { AnswerIssue, AnswerPath, Severity } from './issues.js';
export { resolveBackupPassphrase, resolveBmcPasswords, resolveSecret, secretFilePath } from './secrets.js';
export type { ResolveSecretOptions, SecretEnv, ReadSecretFile } from './secrets.js';
export { exampleAnswerFile } from './example.js';
export { writeAnswerFile } from './write.js';
export type { WriteAnswerFileOptions } from './write.js';
export { answersJsonSchema, renderJsonSchema, JSON_SCHEMA_FILE_NAME } from './json-schema.js';
