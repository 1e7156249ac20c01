import { Type } from 'typebox';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../auth/passwords.ts';
import type { User } from '../../db/types.ts';
import { Timestamp, Uuid } from '../../http/schema-types.ts';

export const UserSchema = Type.Object(
  {
    id: Uuid('The user id'),
    email: Type.String({ format: 'email', description: 'Login email, unique whatever its case' }),
    name: Type.String({ description: 'Display name' }),
    created_at: Timestamp('When the account was created'),
    updated_at: Timestamp('When the account last changed'),
  },
  { $id: 'User', additionalProperties: false },
);

const Email = Type.String({
  format: 'email',
  minLength: 3,
  maxLength: 254,
  description: 'Email address; compared case-insensitively',
});

const NewPassword = Type.String({
  minLength: MIN_PASSWORD_LENGTH,
  maxLength: MAX_PASSWORD_LENGTH,
  description: `At least ${MIN_PASSWORD_LENGTH} characters, not a common password, not your email or name`,
});

export const SignupBody = Type.Object(
  {
    email: Email,
    password: NewPassword,
    name: Type.String({ minLength: 1, maxLength: 200, description: 'Display name' }),
  },
  { additionalProperties: false },
);

export const ChangePasswordBody = Type.Object(
  {
    current_password: Type.String({
      minLength: 1,
      maxLength: MAX_PASSWORD_LENGTH,
      description: 'The password in use now',
    }),
    new_password: NewPassword,
  },
  { additionalProperties: false },
);

export const LoginBody = Type.Object(
  {
    email: Email,
    password: Type.String({
      minLength: 1,
      maxLength: MAX_PASSWORD_LENGTH,
      description: 'Password',
    }),
  },
  { additionalProperties: false },
);

export const RefreshBody = Type.Object(
  {
    refresh_token: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'The refresh token from signup, login or the previous refresh',
    }),
  },
  { additionalProperties: false },
);

const tokenFields = {
  access_token: Type.String({
    description: 'JWT for `Authorization: Bearer`, audience `tasklane-api`',
  }),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'Seconds until the access token expires' }),
  refresh_token: Type.String({
    description: 'Opaque, single-use: exchange it at /v1/auth/refresh for a new pair',
  }),
};

export const TokenPairSchema = Type.Object(tokenFields, { additionalProperties: false });

export const AuthResultSchema = Type.Object(
  { user: Type.Ref('User'), ...tokenFields },
  { additionalProperties: false },
);

export function presentUser(user: User) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    created_at: user.created_at.toISOString(),
    updated_at: user.updated_at.toISOString(),
  };
}
