/** A danger dialog that runs one action (usually a delete) and shows why it failed. */
import type { ReactNode } from "react";

import { Dialog } from "./Dialog";
import { ErrorBox } from "./States";

export function ConfirmDialog({
  title,
  open = true,
  onClose,
  onConfirm,
  confirmLabel,
  action,
  canConfirm,
  children,
}: {
  title: string;
  open?: boolean;
  onClose: () => void;
  onConfirm: () => void;
  confirmLabel: string;
  /** The mutation that onConfirm starts: its progress and error show here. */
  action: { isPending: boolean; error: unknown };
  canConfirm?: boolean;
  children: ReactNode;
}) {
  return (
    <Dialog
      title={title}
      open={open}
      onClose={onClose}
      onSubmit={onConfirm}
      submitLabel={confirmLabel}
      submitting={action.isPending}
      canSubmit={canConfirm}
      danger
    >
      {children}
      {action.error ? <ErrorBox error={action.error} /> : null}
    </Dialog>
  );
}
