// Keeps camera states and live pictures current: asks /api/cameras every few seconds while the
// tab is visible, and loads a camera's picture only when a newer one exists (each picture has its
// own address, so a browser never shows an old one from its cache). A camera that is down, or whose
// picture stopped changing, shows why instead (on a camera's own page its last picture stays, for
// drawing areas on it).
(() => {
  const boxes = Array.from(document.querySelectorAll("[data-live-camera]"));
  if (!boxes.length) return;
  const EVERY_MS = 2000;
  let timer = null;

  const duration = (s) =>
    s < 60 ? `${Math.round(s)} s` : s < 3600 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
  const text = (box, selector, value) => {
    const el = box.querySelector(selector);
    if (el && el.textContent !== value) el.textContent = value;
  };

  const showState = (box, cam) => {
    box.dataset.state = cam.state;
    const badge = box.querySelector(".cam-state");
    if (badge) {
      for (const name of Array.from(badge.classList)) {
        if (name !== "cam-state" && name !== "big") badge.classList.remove(name);
      }
      badge.classList.add(cam.state);
      badge.textContent = cam.state;
    }
    text(box, ".cam-status", cam.status_text);
    text(box, ".cam-detail", cam.reason);
  };

  const showPicture = (box, cam) => {
    const live = cam.live;
    const keepStale = box.hasAttribute("data-keep-stale");
    const img = box.querySelector(".live-img");
    const none = box.querySelector(".live-none");
    const fresh = Boolean(live && !live.stale);
    if (img && live && (fresh || keepStale) && img.getAttribute("src") !== live.url) img.src = live.url;
    if (img) img.hidden = keepStale ? !img.getAttribute("src") : !fresh;
    if (none) {
      none.hidden = keepStale ? Boolean(img && !img.hidden) : fresh;
      if (!keepStale) {
        none.textContent =
          cam.state !== "online"
            ? cam.headline
            : !live
              ? "No live picture yet."
              : `No new picture for ${duration(live.age_s)}.`;
      }
    }
    text(box, ".live-fps", fresh ? `${live.fps.toFixed(1)} fps` : "");
    if (!live) return;
    const age = `${duration(live.age_s)} ago`;
    if (!keepStale) text(box, ".live-age", `picture ${age}`);
    else text(box, ".live-age", fresh ? `Live picture, ${age}` : `Last picture ${age}, not live: ${cam.status_text}`);
  };

  const poll = async () => {
    let cams;
    try {
      const answer = await fetch("/api/cameras", { headers: { Accept: "application/json" }, cache: "no-store" });
      if (answer.status === 401) {
        stop();
        for (const box of boxes) text(box, ".live-age", "Logged out: log in again to see live pictures.");
        return;
      }
      if (!answer.ok) return; // the console or its database is away: the next poll tries again
      cams = await answer.json();
    } catch {
      return;
    }
    const byId = new Map(cams.map((cam) => [cam.id, cam]));
    for (const box of boxes) {
      const cam = byId.get(box.dataset.liveCamera);
      if (!cam) continue;
      showState(box, cam);
      showPicture(box, cam);
    }
  };

  const start = () => {
    if (timer !== null) return;
    poll();
    timer = setInterval(poll, EVERY_MS);
  };
  const stop = () => {
    if (timer !== null) clearInterval(timer);
    timer = null;
  };
  // A tab in the background asks for nothing: a wall of camera pages left open costs no pictures.
  document.addEventListener("visibilitychange", () => (document.hidden ? stop() : start()));
  if (!document.hidden) start();
})();
