/** Redeploy a step at another commit of its project (through the deployments API). */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { api } from "../api";
import { useCommits } from "../api/queries";
import { Dialog } from "../components/Dialog";
import { ErrorBox } from "../components/States";

export function RedeployDialog(props: { project: string; deployment: number; app: string; onClose: () => void }) {
  const commits = useCommits(props.project);
  const [commit, setCommit] = useState("");
  const queryClient = useQueryClient();
  const redeploy = useMutation({
    mutationFn: () => api.deployments.update(props.deployment, { commit }),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ["graph"] });
      await queryClient.invalidateQueries({ queryKey: ["deployments"] });
      props.onClose();
    },
  });
  return (
    <Dialog
      title={`Redeploy ${props.app} at a commit`}
      open
      onClose={props.onClose}
      onSubmit={() => redeploy.mutate()}
      submitLabel="Redeploy"
      submitting={redeploy.isPending}
      canSubmit={!!commit}
    >
      <label>
        Commit
        <select value={commit} onChange={(e) => setCommit(e.target.value)}>
          <option value="">choose…</option>
          {(commits.data ?? []).map((c) => (
            <option key={c.id} value={c.id}>
              {c.id.slice(0, 8)} {c.message.split("\n")[0]}
            </option>
          ))}
        </select>
      </label>
      {redeploy.error ? <ErrorBox error={redeploy.error} /> : null}
    </Dialog>
  );
}
