/** `0x1234…cdef` style shortening for hashes and addresses in tables. */
export function shortHash(h: string, keep = 8): string {
  return h.length <= keep * 2 + 1 ? h : `${h.slice(0, keep)}…${h.slice(-keep)}`;
}

/** Block time in China Standard Time, in the UI's language. */
export function formatTime(ms: number, locale: string): string {
  return new Date(ms).toLocaleString(locale === 'en' ? 'en-GB' : 'zh-CN', { timeZone: 'Asia/Shanghai', hour12: false });
}
