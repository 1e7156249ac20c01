/**
 * @mentions in comments. The syntax is `<@USER_UUID>` in the Markdown body, as in
 * Slack: unambiguous where names are not unique (Tasklane has no usernames), and
 * unchanged when someone renames themselves; a client shows the name.
 */
const MENTION = /<@([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})>/gi;

/** Beyond this many people, a comment is an announcement: the rest are not notified. */
export const MAX_MENTIONS = 50;

/** The distinct user ids a body mentions, lowercase, in order of first mention. */
export function mentionedUserIds(body: string): string[] {
  const ids = new Set<string>();
  for (const match of body.matchAll(MENTION)) {
    ids.add(match[1]!.toLowerCase());
    if (ids.size === MAX_MENTIONS) break;
  }
  return [...ids];
}

/** Who an edit mentions that the body before it did not: only they hear about the edit. */
export function newlyMentionedUserIds(before: string, after: string): string[] {
  const already = new Set(mentionedUserIds(before));
  return mentionedUserIds(after).filter((id) => !already.has(id));
}

/** The body with each mention written as `@Name` (or `@someone`), for a plain-text message. */
export function renderMentions(body: string, names: ReadonlyMap<string, string>): string {
  return body.replace(
    MENTION,
    (_token, id: string) => `@${names.get(id.toLowerCase()) ?? 'someone'}`,
  );
}
