/** A modal dialog on the native <dialog>: focus stays inside, Escape closes it. */
import { type FormEvent, type ReactNode, useEffect, useRef } from "react";

interface DialogProps {
  title: string;
  open: boolean;
  onClose: () => void;
  /** With onSubmit the body is a form; Enter submits it. */
  onSubmit?: () => void;
  submitLabel?: string;
  submitting?: boolean;
  danger?: boolean;
  canSubmit?: boolean;
  children: ReactNode;
  wide?: boolean;
}

export function Dialog(props: DialogProps) {
  const { title, open, onClose, onSubmit, submitLabel = "Save", submitting, danger, wide } = props;
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (props.canSubmit !== false && !submitting) onSubmit?.();
  };
  return (
    <dialog
      ref={ref}
      className={wide ? "dialog wide" : "dialog"}
      aria-label={title}
      onClose={onClose}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      {open && (
        <form method="dialog" onSubmit={submit}>
          <header>
            <h2>{title}</h2>
          </header>
          <div className="dialog-body">{props.children}</div>
          <footer>
            <button type="button" onClick={onClose}>
              {onSubmit ? "Cancel" : "Close"}
            </button>
            {onSubmit && (
              <button
                type="submit"
                className={danger ? "danger" : "primary"}
                disabled={submitting || props.canSubmit === false}
              >
                {submitting ? "Working…" : submitLabel}
              </button>
            )}
          </footer>
        </form>
      )}
    </dialog>
  );
}
