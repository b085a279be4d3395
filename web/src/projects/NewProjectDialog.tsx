import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useNavigate } from "react-router-dom";

import { api } from "../api";
import { Dialog } from "../components/Dialog";
import { Field } from "../components/Field";
import { ErrorBox, Loading } from "../components/States";
import { useInvalidate } from "../components/useInvalidate";
import { keys } from "./queries";

const NAME = /^[a-z][a-z0-9-]*$/;

export function NewProjectDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const templates = useQuery({ queryKey: ["templates"], queryFn: api.templates.list, enabled: open });
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [template, setTemplate] = useState<string>("windowed-features");
  const refresh = useInvalidate(keys.projects);
  const navigate = useNavigate();
  const create = useMutation({
    mutationFn: () =>
      api.projects.create({ name, description, template: template === "" ? null : template }),
    onSuccess: (project) => {
      refresh();
      onClose();
      navigate(`/projects/${encodeURIComponent(project.name)}`);
    },
  });
  const nameHint =
    name && !NAME.test(name) ? "lowercase letters, digits and '-', starting with a letter" : null;
  return (
    <Dialog
      title="New project"
      open={open}
      onClose={onClose}
      onSubmit={() => create.mutate()}
      submitLabel="Create project"
      submitting={create.isPending}
      canSubmit={!!name && !nameHint}
    >
      <Field label="Name" problem={nameHint} error={create.error} field="name">
        <input
          name="project-name"
          autoFocus
          value={name}
          placeholder="e.g. order-features"
          onChange={(e) => setName(e.target.value)}
        />
      </Field>
      <label>
        Description
        <input value={description} onChange={(e) => setDescription(e.target.value)} />
      </label>
      <fieldset className="choices">
        <legend>Template</legend>
        {templates.isPending && <Loading what="templates" />}
        {templates.error && <ErrorBox error={templates.error} />}
        {templates.data?.map((t) => (
          <label key={t.id} className="choice">
            <input
              type="radio"
              name="template"
              value={t.id}
              checked={template === t.id}
              onChange={() => setTemplate(t.id)}
            />
            <span>
              <strong>{t.title}</strong>
              <span className="muted"> — {t.description}</span>
            </span>
          </label>
        ))}
        <label className="choice">
          <input
            type="radio"
            name="template"
            value=""
            checked={template === ""}
            onChange={() => setTemplate("")}
          />
          <span>
            <strong>Empty project</strong>
          </span>
        </label>
      </fieldset>
      {create.error && <ErrorBox error={create.error} />}
    </Dialog>
  );
}
