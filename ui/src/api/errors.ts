import type { Translate } from '../i18n/I18nProvider';
import { ApiError } from './client';

/** A user-facing message for any error thrown by the API client. */
export function describeError(e: unknown, t: Translate): string {
  if (e instanceof ApiError) {
    switch (e.kind) {
      case 'network':
        return t('api.network', { reason: e.detail });
      case 'http':
        return t('api.unavailable', { status: e.status ?? e.detail });
      case 'graphql':
      case 'shape':
        return t('api.graphql', { reason: e.detail });
    }
  }
  return t('api.graphql', { reason: e instanceof Error ? e.message : String(e) });
}
