import { describe, expect, it } from 'vitest';

import { format, translator } from './I18nProvider';
import { en, zhCN } from './messages';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('dictionaries', () => {
  it('have the same keys and the same placeholders in both languages', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(zhCN).sort());
    for (const k of Object.keys(zhCN) as (keyof typeof zhCN)[]) {
      expect(placeholders(en[k]), k).toEqual(placeholders(zhCN[k]));
      expect(en[k].trim(), k).not.toBe('');
    }
  });
  it('formats placeholders and leaves unknown ones visible', () => {
    expect(format('区块 #{height}', { height: 12n })).toBe('区块 #12');
    expect(format('{a} {b}', { a: 1 })).toBe('1 {b}');
    expect(translator('zh-CN')('verify.verified')).toBe('已上链验证');
    expect(translator('en')('verify.verified')).toBe('Verified on chain');
  });
});
