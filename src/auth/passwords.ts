import { hash, verify } from '@node-rs/argon2';

// OWASP's minimum for argon2id: 19 MiB of memory, 2 passes, 1 lane.
// @node-rs/argon2 uses argon2id unless told otherwise.
const ARGON2_OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 256;

// ~49k passwords seen most often in breaches (the zxcvbn list), lower-cased.
// Loaded on the first password check, not at start: the package brings ~12 MB
// that a node serving only reads never needs.
let commonPasswords: Promise<Set<string>> | undefined;
function loadCommonPasswords(): Promise<Set<string>> {
  commonPasswords ??= import('@zxcvbn-ts/language-common').then(
    ({ dictionary }) =>
      new Set(
        (dictionary['passwords-common'] as readonly string[]).map((word) => word.toLowerCase()),
      ),
  );
  return commonPasswords;
}

/** Why `password` is refused, or undefined when it is acceptable. */
export async function passwordWeakness(
  password: string,
  personal: readonly string[] = [],
): Promise<string | undefined> {
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    return `must have at least ${MIN_PASSWORD_LENGTH} characters`;
  }
  const lowered = password.toLowerCase();
  if ((await loadCommonPasswords()).has(lowered))
    return 'is too common; choose a less guessable password';
  if (/^(.)\1+$/u.test(password)) return 'must not repeat a single character';
  for (const value of personal) {
    if (value.length >= 4 && lowered.includes(value.toLowerCase())) {
      return 'must not contain your email or name';
    }
  }
  return undefined;
}

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

export function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  return verify(passwordHash, password);
}

// Login answers as slowly for an unknown email as for a wrong password, so its
// timing does not tell which addresses have accounts.
let decoyHash: Promise<string> | undefined;
export async function burnPasswordCheck(password: string): Promise<void> {
  decoyHash ??= hashPassword('tasklane-decoy-password');
  await verify(await decoyHash, password);
}
