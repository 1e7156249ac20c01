/** The channels a user can turn on or off: in-app (the inbox) and the external ones. */
export interface ChannelPreferences {
  readonly in_app: boolean;
  readonly email: boolean;
  readonly push: boolean;
  readonly sms: boolean;
}

/**
 * A user without a preferences row gets these; the table's column defaults
 * (migration 0008) say the same. Push and SMS are opt-in: nothing sends them yet
 * beyond the logging provider.
 */
export const DEFAULT_PREFERENCES: ChannelPreferences = Object.freeze({
  in_app: true,
  email: true,
  push: false,
  sms: false,
});

/** A stored row (or none) with the defaults filled in. */
export function withDefaults(
  row: Partial<Record<keyof ChannelPreferences, boolean | null>> | undefined,
): ChannelPreferences {
  return {
    in_app: row?.in_app ?? DEFAULT_PREFERENCES.in_app,
    email: row?.email ?? DEFAULT_PREFERENCES.email,
    push: row?.push ?? DEFAULT_PREFERENCES.push,
    sms: row?.sms ?? DEFAULT_PREFERENCES.sms,
  };
}
