/** A numeric field of the records over time: the record's timestamp or an event-time field. */
import { useMemo, useState } from "react";

import { TimeChart } from "../components/TimeChart";
import { fieldSeries, numericFields, type Row, timeFields } from "../shaping/records";

export function FieldChart({ rows }: { rows: Row[] }) {
  const [field, setField] = useState("");
  const [timeField, setTimeField] = useState("timestamp");
  const times = useMemo(() => timeFields(rows), [rows]);
  const axis = times.includes(timeField) ? timeField : "timestamp";
  // Times (event times, window bounds) are axes, never the charted value.
  const fields = useMemo(() => numericFields(rows), [rows]);
  const charted = fields.includes(field) ? field : fields[0];
  const chart = useMemo(() => (charted ? fieldSeries(rows, charted, axis) : null), [rows, charted, axis]);
  if (!charted || !chart) return null;
  return (
    <div className="chart-block">
      <div className="chart-controls">
        <label className="inline">
          Chart field
          <select name="chart-field" aria-label="Chart field" value={charted} onChange={(e) => setField(e.target.value)}>
            {fields.map((f) => (
              <option key={f}>{f}</option>
            ))}
          </select>
        </label>
        <label className="inline">
          over
          <select name="time-field" aria-label="Time axis" value={axis} onChange={(e) => setTimeField(e.target.value)}>
            {times.map((f) => (
              <option key={f} value={f}>
                {f === "timestamp" ? "record time" : `${f} (event time)`}
              </option>
            ))}
          </select>
        </label>
      </div>
      <TimeChart title={`${charted} over ${axis === "timestamp" ? "record time" : axis}`} data={chart} labels={[charted]} />
    </div>
  );
}
