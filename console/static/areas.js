// Draw a polygon area on a camera's picture and get the line to paste into the configuration.
// The console never writes the configuration: areas stay in the YAML file, reviewed and reloaded
// like the rest of a camera; this only spares the operator from measuring corners by hand.
(() => {
  const picture = document.querySelector(".areas");
  const output = document.getElementById("area-yaml");
  if (!picture || !output) return;
  const svg = picture.querySelector("svg");
  const draft = document.createElementNS("http://www.w3.org/2000/svg", "polygon");
  draft.setAttribute("class", "draft");
  svg.appendChild(draft);
  const MAX_CORNERS = 64; // the configuration's limit
  const corners = [];

  const round = (v) => Math.round(Math.min(Math.max(v, 0), 1) * 1000) / 1000;
  const show = () => {
    draft.setAttribute("points", corners.map(([x, y]) => `${x},${y}`).join(" "));
    output.textContent =
      corners.length < 3
        ? `Click the picture to place corners: ${corners.length} of at least 3.`
        : `- {points: [${corners.map(([x, y]) => `[${x.toFixed(3)}, ${y.toFixed(3)}]`).join(", ")}]}`;
  };

  picture.addEventListener("click", (event) => {
    if (corners.length >= MAX_CORNERS) return;
    const box = picture.getBoundingClientRect();
    corners.push([round((event.clientX - box.left) / box.width), round((event.clientY - box.top) / box.height)]);
    show();
  });
  document.getElementById("area-undo").addEventListener("click", () => {
    corners.pop();
    show();
  });
  document.getElementById("area-clear").addEventListener("click", () => {
    corners.length = 0;
    show();
  });
  picture.classList.add("drawable");
  show();
})();
