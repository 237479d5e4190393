// The admin pages' t(), in the researcher's language.
import { useMemo } from 'preact/hooks';
import { useApp } from '../context';
import { adminTranslator, type AdminTranslate } from './messages';

export function useText(): AdminTranslate {
  const { locale } = useApp();
  return useMemo(() => adminTranslator(locale), [locale]);
}
