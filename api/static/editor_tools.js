// The transcriber's tools on the session page, beside static/session.js's in-place editing:
// - the player from the keyboard, also while typing in a line: F9 play/pause, F7 back 3 s; speed 0.75–2×;
// - find (every reader) and replace across the transcript (who may correct): one request,
//   POST /sessions/{id}/utterances/replace, with the lines shown and their versions; each changed line is one
//   correction (one revision each, with its history) and the checklist is checked again once for them all.
"use strict";

(() => {
  const root = document.getElementById("session");
  const page = window.BiluSession;
  const { api } = Bilu;
  const player = page.player;
  const BACK_S = 3;

  // -- playback ------------------------------------------------------------------------------------------
  function playPause() {
    if (!player.getAttribute("src")) return;
    if (player.paused) player.play().catch(() => {}); else player.pause();
  }
  function back() {
    if (!player.getAttribute("src")) return;
    player.currentTime = Math.max(0, player.currentTime - BACK_S);
  }
  document.addEventListener("keydown", (event) => {
    if (event.key === "F9") { event.preventDefault(); playPause(); }
    else if (event.key === "F7") { event.preventDefault(); back(); }
  });
  document.getElementById("play-pause")?.addEventListener("click", playPause);
  document.getElementById("back-3s")?.addEventListener("click", back);
  const speed = document.getElementById("speed");
  speed?.addEventListener("change", () => { player.playbackRate = Number(speed.value); });
  // A new source (or the first) starts at 1×: keep the chosen speed.
  player.addEventListener("loadedmetadata", () => { if (speed) player.playbackRate = Number(speed.value); });

  // -- find and replace ----------------------------------------------------------------------------------
  const form = document.getElementById("find-replace");
  if (!form) return;
  const findBox = form.querySelector("[name=find]");
  const replaceBox = form.querySelector("[name=replace]");
  const status = document.getElementById("find-status");
  let shown = -1;  // the index, among the matching lines, of the one shown last

  function matching() {
    const wanted = findBox.value;
    return wanted ? page.lines().filter((line) => line.querySelector(".text").textContent.includes(wanted)) : [];
  }
  function showNext() {
    document.querySelectorAll(".line.found").forEach((line) => line.classList.remove("found"));
    const found = matching();
    if (!found.length) { status.textContent = findBox.value ? "没有找到。" : ""; return; }
    found.forEach((line) => line.classList.add("found"));
    shown = (shown + 1) % found.length;
    const line = found[shown];
    line.scrollIntoView({ block: "center" });
    page.seekTo(Number(line.dataset.start));
    status.textContent = `共 ${found.length} 句含“${findBox.value}”，第 ${shown + 1} 句`;
  }
  findBox.addEventListener("input", () => { shown = -1; });
  form.querySelector(".find-next").addEventListener("click", showNext);
  findBox.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.isComposing) { event.preventDefault(); showNext(); }
  });

  form.querySelector(".replace-all")?.addEventListener("click", async () => {
    const wanted = findBox.value;
    const instead = replaceBox.value;
    const found = matching().filter((line) => line !== page.editing());
    if (!wanted || !found.length) { status.textContent = wanted ? "没有找到。" : "请先输入要查找的文字。"; return; }
    status.textContent = `正在替换 ${found.length} 句…`;
    let result;
    try {
      result = await api("POST", `${page.base}/utterances/replace`, {
        find: wanted, replace: instead,
        lines: found.map((line) => ({ id: Number(line.dataset.id), version: Number(line.dataset.version) })),
      });
    } catch (exc) {
      status.textContent = `无法替换：${exc.message}`;
      return;
    }
    const byId = new Map(found.map((line) => [Number(line.dataset.id), line]));
    for (const after of result.changed) page.updateLine(byId.get(after.id), after);
    const refused = result.refused.map((r) =>
      `${byId.get(r.id).querySelector(".time").textContent}（${r.status === 409 ? "已被他人修改" : r.detail}）`);
    document.querySelectorAll(".line.found").forEach((line) => line.classList.remove("found"));
    status.textContent = `已替换 ${result.changed.length} 句，每句一条修改记录。` +
      (refused.length ? ` 未替换：${refused.join("；")}` : "");
    page.refreshFindings();
  });
  root.dataset.toolsReady = "true";
})();
