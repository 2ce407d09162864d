// The dashboard's per-camera charts, drawn with the vendored uPlot (static/vendor/): people evaluated
// and violations as bars on the camera's own count axis, so a quiet camera is as readable as a busy
// one, and compliance as a line on a 0-100 % axis. The numbers also stand in the table above.
(() => {
  if (typeof uPlot === "undefined") return; // the table still says it all
  const PEOPLE = "#5fa898";
  const VIOLATIONS = "#c8372d";
  const COMPLIANCE = "#1d2330";
  const HEIGHT = 220;
  const charts = [];

  const tick = (bucket) => (self, values) =>
    values.map((v) => {
      const d = new Date(v * 1000);
      const day = `${String(d.getUTCDate()).padStart(2, "0")}/${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
      return bucket === "hour" ? `${String(d.getUTCHours()).padStart(2, "0")}:00` : day;
    });

  // The legend's values: those of the bar under the pointer, or of the latest bar while the pointer
  // is elsewhere (uPlot would show "--"); "—" where there is no value, as in the table.
  const shown = (format) => (u, v, series, idx) => {
    const at = idx == null ? u.data[0].length - 1 : idx;
    const value = u.data[series][at];
    return value == null ? "—" : format(value);
  };

  const draw = (el) => {
    const data = JSON.parse(el.dataset.chart);
    const bucket = el.dataset.bucket;
    const step = bucket === "hour" ? 3600 : 86400;
    const narrow = el.clientWidth < 500;
    const bars = (offset) => uPlot.paths.bars({ size: [0.4, 40], align: offset });
    const opts = {
      width: el.clientWidth,
      height: HEIGHT,
      legend: { show: !narrow },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: false, range: (u, min, max) => [min - step / 2, max + step / 2] },
        count: { range: (u, min, max) => [0, Math.max(1, Math.ceil(max * 1.1))] },
        pct: { range: [0, 100] },
      },
      axes: [
        { values: tick(bucket), space: narrow ? 50 : 60, incrs: [step, step * 2, step * 7, step * 14, step * 30] },
        { scale: "count", label: "count", size: 50, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] },
        { scale: "pct", side: 1, label: "compliance %", size: 50, grid: { show: false }, values: (u, vs) => vs.map((v) => `${v}%`) },
      ],
      series: [
        { label: bucket === "hour" ? "hour (UTC)" : "day (UTC)", value: shown((v) => tick(bucket)(null, [v])[0]) },
        { label: "people", scale: "count", fill: PEOPLE, stroke: PEOPLE, paths: bars(-1), points: { show: false }, value: shown(String) },
        { label: "violations", scale: "count", fill: VIOLATIONS, stroke: VIOLATIONS, paths: bars(1), points: { show: false }, value: shown(String) },
        { label: "compliance", scale: "pct", stroke: COMPLIANCE, width: 2, spanGaps: false, points: { size: 5 }, value: shown((v) => `${v.toFixed(1)} %`) },
      ],
    };
    charts.push([el, new uPlot(opts, [data.x, data.people, data.violations, data.compliance], el)]);
  };

  document.querySelectorAll(".chart .plot[data-chart]").forEach(draw);
  let pending = null;
  window.addEventListener("resize", () => {
    clearTimeout(pending);
    pending = setTimeout(() => charts.forEach(([el, chart]) => chart.setSize({ width: el.clientWidth, height: HEIGHT })), 150);
  });
})();
