// Accessible forms: real <label>s, field errors beside their fields (aria-describedby, aria-invalid), an error
// summary that takes the focus when a submit fails, and submit on Enter (they are real <form>s).
import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, networkError } from '../api/problem';
import { useApp } from '../context';

/** The message for any failure: the problem's detail, or a sentence for the network. */
export function describeError(error: unknown, networkText: string): string {
  if (error instanceof ApiError) return error.status === 0 ? networkText : error.detail;
  return error instanceof Error ? error.message : String(error);
}

export function ErrorSummary({ error, fields = {} }: { error: unknown; fields?: Readonly<Record<string, string>> }) {
  const { t } = useApp();
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (error) ref.current?.focus();
  }, [error]);
  if (!error) return null;
  const problem = error instanceof ApiError ? error : undefined;
  const entries = problem ? Object.entries(problem.errors) : [];
  return (
    <div class="error-summary" role="alert" tabIndex={-1} ref={ref} aria-labelledby="error-summary-title">
      <h2 id="error-summary-title">{t('error.summary')}</h2>
      <p>{describeError(error, t('error.network'))}</p>
      {entries.length > 0 && (
        <ul>
          {entries.map(([field, messages]) => (
            <li key={field}>
              {fields[field] ? <a href={`#field-${field}`}>{fields[field]}</a> : <strong>{field}</strong>}:{' '}
              {messages.join('; ')}
            </li>
          ))}
        </ul>
      )}
      {problem?.requestId && <p class="muted">{t('error.requestId', { id: problem.requestId })}</p>}
    </div>
  );
}

type InputProps = Omit<JSX.HTMLAttributes<HTMLInputElement>, 'onInput' | 'value'>;

interface FieldProps {
  name: string;
  label: string;
  error: unknown;
  hint?: string;
  required?: boolean;
  children: (props: {
    id: string;
    name: string;
    'aria-invalid': boolean;
    'aria-describedby': string | undefined;
    required: boolean | undefined;
  }) => ComponentChildren;
}

/** A labelled control with its hint and the API's messages for it. */
export function Field({ name, label, error, hint, required, children }: FieldProps) {
  const { t } = useApp();
  const id = `field-${name}`;
  const messages = error instanceof ApiError ? error.fieldErrors(name) : [];
  const described = [hint ? `${id}-hint` : '', messages.length ? `${id}-error` : ''].filter(Boolean).join(' ');
  return (
    <div class="field">
      <label for={id}>
        {label}
        {required && <span class="muted"> ({t('common.required')})</span>}
      </label>
      {hint && (
        <span class="hint" id={`${id}-hint`}>
          {hint}
        </span>
      )}
      {messages.length > 0 && (
        <span class="field-error" id={`${id}-error`}>
          {messages.join('; ')}
        </span>
      )}
      {children({
        id,
        name,
        'aria-invalid': messages.length > 0,
        'aria-describedby': described || undefined,
        required: required || undefined,
      })}
    </div>
  );
}

export function TextField(
  props: Omit<FieldProps, 'children'> & { value: string; onValue: (value: string) => void; type?: string } & InputProps,
) {
  const { name, label, error, hint, required, value, onValue, type = 'text', ...rest } = props;
  return (
    <Field name={name} label={label} error={error} hint={hint} required={required}>
      {(a11y) => (
        <input
          {...rest}
          {...a11y}
          type={type}
          value={value}
          onInput={(event) => onValue((event.target as HTMLInputElement).value)}
        />
      )}
    </Field>
  );
}

export function SelectField(
  props: Omit<FieldProps, 'children'> & {
    value: string;
    onValue: (value: string) => void;
    options: readonly { value: string; label: string }[];
  },
) {
  const { name, label, error, hint, required, value, onValue, options } = props;
  return (
    <Field name={name} label={label} error={error} hint={hint} required={required}>
      {(a11y) => (
        <select {...a11y} value={value} onChange={(event) => onValue((event.target as HTMLSelectElement).value)}>
          {options.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

export function TextAreaField(
  props: Omit<FieldProps, 'children'> & { value: string; onValue: (value: string) => void },
) {
  const { name, label, error, hint, required, value, onValue } = props;
  return (
    <Field name={name} label={label} error={error} hint={hint} required={required}>
      {(a11y) => (
        <textarea
          {...a11y}
          rows={3}
          value={value}
          onInput={(event) => onValue((event.target as HTMLTextAreaElement).value)}
        />
      )}
    </Field>
  );
}

/** Run an API action from a form or button: busy while it runs, its error kept for the summary and the fields. */
export function useAction<A extends unknown[], R>(action: (...args: A) => Promise<R>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const run = async (...args: A): Promise<R | undefined> => {
    setBusy(true);
    setError(undefined);
    try {
      return await action(...args);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : networkError(caught));
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error, setError };
}

/** Load something once (and again on `reload()` or when `deps` change). */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let cancelled = false;
    load()
      .then((value) => {
        if (!cancelled) {
          setData(value);
          setError(undefined);
        }
      })
      .catch((caught: unknown) => {
        if (!cancelled) setError(caught);
      });
    return () => {
      cancelled = true;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return { data, error, reload: () => setTick((n) => n + 1), setData };
}

/** A form that submits on Enter and on its button; `onSubmit` gets no event. */
export function Form({
  onSubmit,
  children,
  label,
}: {
  onSubmit: () => void;
  children: ComponentChildren;
  label?: string;
}) {
  return (
    <form
      class="stack"
      aria-label={label}
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        onSubmit();
      }}
    >
      {children}
    </form>
  );
}

export function Loading({ error }: { error?: unknown }) {
  const { t } = useApp();
  if (error) return <ErrorSummary error={error} />;
  return <p role="status">{t('app.loading')}</p>;
}
