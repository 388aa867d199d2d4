/**
 * The server's password rule (graphql/src/auth.rs): at least 8 characters and at most 256 bytes of
 * UTF-8. Checked in the form so a short or long password is named at the field, not refused after submit;
 * a Chinese password reaches the byte limit at about 85 characters, which a character count would miss.
 */
export type PasswordProblem = 'short' | 'long';

export function passwordProblem(password: string): PasswordProblem | null {
  if ([...password].length < 8) return 'short';
  if (new TextEncoder().encode(password).length > 256) return 'long';
  return null;
}
