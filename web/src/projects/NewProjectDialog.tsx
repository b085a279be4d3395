/** A new project, from a template whose topics are picked from the cluster's list (or named to
 * be created, with their partitions), or empty. */
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { useNavigate } from "react-router-dom";

import { api, type Template, type Topic, type TopicChoice, type TopicSlot } from "../api";
import { Dialog } from "../components/Dialog";
import { Field } from "../components/Field";
import { ErrorBox, FieldError, Loading } from "../components/States";
import { useInvalidate } from "../components/useInvalidate";
import { topicNameProblem } from "../shaping/topics";
import { queryKeys, useTemplates, useTopics } from "../api/queries";

const NAME = /^[a-z][a-z0-9-]*$/;
const NEW = "__new__";
const NEW_TOPIC_PARTITIONS = 3;

/** A slot as the form holds it: an existing topic, or a new one with its partitions. */
interface Pick {
  existing: string | null; // null: a new topic
  name: string;
  partitions: number;
}

function defaultName(slot: TopicSlot, project: string): string {
  return slot.default.replaceAll("{project}", project || "my-project");
}

export function NewProjectDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const templates = useTemplates(open);
  // The server's default cluster, where the project's topics are.
  const topics = useTopics(undefined, { enabled: open });
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [template, setTemplate] = useState<string>("windowed-features");
  const [picks, setPicks] = useState<Record<string, Pick>>({});
  const refresh = useInvalidate(queryKeys.projects);
  const refreshTopics = useInvalidate(queryKeys.allTopics);
  const navigate = useNavigate();
  const chosen = templates.data?.find((t) => t.id === template);
  const listed = (topics.data ?? []).filter((t) => !t.internal);
  const slots = chosen?.topics ?? [];
  // A slot the user has not touched: its default topic if the cluster has it, else new.
  const pickOf = (slot: TopicSlot): Pick =>
    picks[slot.name] ?? initialPick(slot, name, listed);
  const problems = Object.fromEntries(
    slots.map((slot) => {
      const pick = pickOf(slot);
      return [slot.name, pick.existing === null ? newTopicProblem(pick.name, listed) : null];
    }),
  );
  const create = useMutation({
    mutationFn: () => {
      const chosenTopics: Record<string, TopicChoice> = {};
      for (const slot of slots) {
        const pick = pickOf(slot);
        chosenTopics[slot.name] =
          pick.existing === null ? { name: pick.name.trim(), partitions: pick.partitions } : { name: pick.existing };
      }
      return api.projects.create({
        name,
        description,
        template: template === "" ? null : template,
        ...(template === "" || !topics.data ? {} : { topics: chosenTopics }),
      });
    },
    onSuccess: (project) => {
      refresh();
      refreshTopics(); // it may have made some
      onClose();
      navigate(`/projects/${encodeURIComponent(project.name)}`);
    },
  });
  const nameHint =
    name && !NAME.test(name) ? "lowercase letters, digits and '-', starting with a letter" : null;
  const slotsOk = Object.values(problems).every((p) => p === null);
  return (
    <Dialog
      title="New project"
      open={open}
      onClose={onClose}
      onSubmit={() => create.mutate()}
      submitLabel="Create project"
      submitting={create.isPending}
      canSubmit={!!name && !nameHint && slotsOk}
      wide
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
          <TemplateChoice key={t.id} template={t} checked={template === t.id} onPick={() => setTemplate(t.id)} />
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
      {slots.length > 0 && (
        <fieldset className="topic-picks">
          <legend>Topics of its apps</legend>
          {topics.error ? (
            <div className="muted">
              The cluster's topics cannot be listed, so the template's names are used:{" "}
              {slots.map((s) => defaultName(s, name)).join(", ")}. <ErrorBox error={topics.error} />
            </div>
          ) : topics.isPending ? (
            <Loading what="topics" />
          ) : (
            slots.map((slot) => (
              <SlotPicker
                key={slot.name}
                slot={slot}
                pick={pickOf(slot)}
                topics={listed}
                problem={problems[slot.name] ?? null}
                error={create.error}
                onPick={(pick) => setPicks((current) => ({ ...current, [slot.name]: pick }))}
              />
            ))
          )}
        </fieldset>
      )}
      {create.error && <ErrorBox error={create.error} />}
    </Dialog>
  );
}

function initialPick(slot: TopicSlot, project: string, topics: Topic[]): Pick {
  const name = defaultName(slot, project);
  const found = topics.find((t) => t.name === name);
  return { existing: found ? found.name : null, name, partitions: NEW_TOPIC_PARTITIONS };
}

function newTopicProblem(name: string, topics: Topic[]): string | null {
  if (topics.some((t) => t.name === name.trim())) return "exists already: pick it from the list";
  return topicNameProblem(name.trim());
}

function TemplateChoice({ template: t, checked, onPick }: { template: Template; checked: boolean; onPick: () => void }) {
  return (
    <label className="choice">
      <input type="radio" name="template" value={t.id} checked={checked} onChange={onPick} />
      <span>
        <strong>{t.title}</strong>
        <span className="muted"> — {t.description}</span>
      </span>
    </label>
  );
}

function SlotPicker(props: {
  slot: TopicSlot;
  pick: Pick;
  topics: Topic[];
  problem: string | null;
  error: unknown;
  onPick: (pick: Pick) => void;
}) {
  const { slot, pick } = props;
  const label = `${slot.role === "input" ? "Reads" : "Writes"} ${slot.name}`;
  return (
    <div className="topic-pick" data-slot={slot.name}>
      <label>
        <span>
          {label} <span className="muted">— {slot.description}</span>
        </span>
        <select
          aria-label={`Topic for ${slot.name}`}
          value={pick.existing ?? NEW}
          onChange={(e) =>
            props.onPick(e.target.value === NEW ? { ...pick, existing: null } : { ...pick, existing: e.target.value })
          }
        >
          <option value={NEW}>New topic…</option>
          {props.topics.map((t) => (
            <option key={t.name} value={t.name}>
              {t.name} ({t.partitions} partition{t.partitions === 1 ? "" : "s"})
            </option>
          ))}
        </select>
      </label>
      {pick.existing === null && (
        <div className="row">
          <label className="grow">
            Name of the new topic
            <input
              aria-label={`New topic for ${slot.name}`}
              value={pick.name}
              onChange={(e) => props.onPick({ ...pick, name: e.target.value })}
            />
          </label>
          <label>
            Partitions
            <input
              aria-label={`Partitions for ${slot.name}`}
              type="number"
              min={1}
              max={1000}
              value={pick.partitions}
              onChange={(e) => props.onPick({ ...pick, partitions: Math.max(1, Number(e.target.value) || 1) })}
            />
          </label>
        </div>
      )}
      {props.problem && <div className="field-error">{props.problem}</div>}
      <FieldError error={props.error} field={`topics.${slot.name}`} />
    </div>
  );
}
