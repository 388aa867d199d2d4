import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';

import { dictionaries, type Locale, type MessageKey } from './messages';

export type Translate = (key: MessageKey, params?: Record<string, string | number | bigint>) => string;

interface I18nValue {
  locale: Locale;
  setLocale: (l: Locale) => void;
  t: Translate;
}

const STORAGE_KEY = 'scf.locale';

/** Replace `{name}` placeholders; unknown placeholders stay visible so a missing parameter is noticed. */
export function format(template: string, params?: Record<string, string | number | bigint>): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}

export function translator(locale: Locale): Translate {
  const dict = dictionaries[locale];
  return (key, params) => format(dict[key], params);
}

function initialLocale(): Locale {
  try {
    return localStorage.getItem(STORAGE_KEY) === 'en' ? 'en' : 'zh-CN';
  } catch {
    return 'zh-CN';
  }
}

const I18nContext = createContext<I18nValue>({ locale: 'zh-CN', setLocale: () => {}, t: translator('zh-CN') });

export function I18nProvider({ children, locale: fixed }: { children: ReactNode; locale?: Locale }) {
  const [locale, setLocaleState] = useState<Locale>(fixed ?? initialLocale);
  const setLocale = useCallback((l: Locale) => {
    setLocaleState(l);
    try {
      localStorage.setItem(STORAGE_KEY, l);
    } catch {
      // Private mode: the choice lasts for this page only.
    }
    document.documentElement.lang = l;
  }, []);
  const value = useMemo(() => ({ locale, setLocale, t: translator(locale) }), [locale, setLocale]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18nValue {
  return useContext(I18nContext);
}
