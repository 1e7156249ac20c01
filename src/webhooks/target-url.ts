import { invalidField } from '../http/problems.ts';
import { targetRefusal } from './ssrf.ts';

/**
 * A webhook URL as given, or a 422 on `/url`: absolute http(s), no credentials
 * (they would sit in logs and delivery lists), and — unless the server allows
 * private targets — not an address inside our network (ADR 0019).
 */
export async function checkTargetUrl(raw: string, allowPrivateTargets: boolean): Promise<string> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalidField('/url', 'must be an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalidField('/url', 'must be an http or https URL');
  }
  if (url.username !== '' || url.password !== '') {
    throw invalidField('/url', 'must not carry credentials; authenticate with the signature');
  }
  if (!allowPrivateTargets) {
    const refusal = await targetRefusal(url);
    if (refusal) throw invalidField('/url', `is refused: ${refusal.message}`);
  }
  return raw;
}
