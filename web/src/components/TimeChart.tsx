/** A time series chart on uPlot: x is epoch seconds, one line per y column. */
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

import { axisWidth, TIME_TICK_SPACE, timeRange, valueTick } from "../shaping/chart";

const COLORS = ["#2f6fed", "#e0631a", "#2a9d5c", "#b23bd1", "#c9a227", "#d13b5a"];

export interface TimeChartProps {
  title: string;
  data: uPlot.AlignedData;
  labels: string[];
  height?: number;
}

export function TimeChart({ title, data, labels, height = 200 }: TimeChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const shape = labels.join("\n");
  // A new chart when the lines change; new points only update the data.
  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 300),
      height,
      series: [
        {},
        ...labels.map((label, i) => ({
          label,
          stroke: COLORS[i % COLORS.length] ?? "#2f6fed",
          width: 2,
          spanGaps: true,
        })),
      ],
      scales: { x: { time: true, range: (_, min, max) => timeRange(min, max) } },
      axes: [
        { stroke: "currentColor", space: TIME_TICK_SPACE },
        {
          stroke: "currentColor",
          values: (_, splits) => splits.map(valueTick),
          size: (_, values) => axisWidth(values ?? []),
        },
      ],
    };
    const made = new uPlot(options, data, element);
    chart.current = made;
    const resize = new ResizeObserver(() =>
      made.setSize({ width: Math.max(element.clientWidth, 300), height }),
    );
    resize.observe(element);
    return () => {
      resize.disconnect();
      made.destroy();
      chart.current = null;
    };
    // `data` is left out on purpose: the second effect applies new points.
  }, [shape, height]);
  useEffect(() => {
    chart.current?.setData(data);
  }, [data]);
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div ref={host} role="img" aria-label={title} />
    </figure>
  );
}
