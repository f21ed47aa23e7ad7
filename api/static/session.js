// The session page: the player beside the transcript, corrections in place, history, checklist, live view.
// Transcript text only ever goes into the page as textContent: a line holding <script> is shown, never run.
"use strict";

(() => {
  const root = document.getElementById("session");
  const sessionId = Number(root.dataset.sessionId);
  // mayCorrect: now; canCorrect: once an uploaded file is transcribed (the page follows it, then allows edits).
  let mayCorrect = root.dataset.mayCorrect === "true";
  const canCorrect = root.dataset.canCorrect === "true";
  const UNSURE = Number(root.dataset.unsureBelow);
  const player = document.getElementById("player");
  const linesBox = document.getElementById("lines");
  const base = `/sessions/${sessionId}`;
  const { api, ApiError, clock, zhDateTime, el } = Bilu;
  const FINDING_STATUS = { satisfied: "已告知", missing: "缺失", out_of_order: "顺序不当", wrong_speaker: "非讯问人所述" };
  const REVISION_KIND = { text: "改文字", speaker: "改说话人", role: "改角色", split: "拆分", merge: "合并", relabel: "改说话人角色",
    suspect: "疑似识别错误的处理" };
  // Why the recognizer's text is doubted (transcribe/hallucination.py); the text is always kept.
  const SUSPECT_REASON = { caption: "疑似字幕幻觉", loop: "疑似重复循环", no_speech: "识别器判断无人说话",
    no_speech_audio: "此段音频中无语音" };

  // -- the lines, by start time (for the highlight of the line being played) -----------------------------
  let ordered = null;
  function lines() {
    if (ordered === null) {
      ordered = Array.from(linesBox.children).sort((a, b) => Number(a.dataset.start) - Number(b.dataset.start));
    }
    return ordered;
  }
  function lineAt(seconds) {
    const all = lines();
    let low = 0, high = all.length - 1, found = -1;
    while (low <= high) {  // the last line starting at or before `seconds`
      const middle = (low + high) >> 1;
      if (Number(all[middle].dataset.start) <= seconds + 1e-3) { found = middle; low = middle + 1; } else { high = middle - 1; }
    }
    if (found < 0) return null;
    const line = all[found];
    return seconds <= Number(line.dataset.end) + 0.3 ? line : null;
  }

  let playing = null;
  function highlight(seconds, { scroll = false } = {}) {
    const line = lineAt(seconds);
    if (line !== playing) {
      if (playing) playing.classList.remove("playing");
      if (line) line.classList.add("playing");
      playing = line;
      if (line && (scroll || !player.paused) && !editing) line.scrollIntoView({ block: scroll ? "center" : "nearest" });
    }
  }

  function seekTo(seconds, { play = false } = {}) {
    highlight(seconds, { scroll: true });
    if (!player.getAttribute("src")) return;
    const apply = () => {
      player.currentTime = seconds;
      if (play) player.play().catch(() => {});  // no sound device, or autoplay refused: the position stands
    };
    if (player.readyState >= 1) apply(); else player.addEventListener("loadedmetadata", apply, { once: true });
  }

  player.addEventListener("timeupdate", () => highlight(player.currentTime));
  player.addEventListener("seeked", () => highlight(player.currentTime));

  linesBox.addEventListener("click", (event) => {
    const line = event.target.closest(".line");
    if (!line) return;
    if (event.target.closest(".edit")) { startEdit(line); return; }
    if (event.target.closest(".edit-tools")) return;
    if (event.target.closest(".history")) { showHistory(line); return; }
    const decide = event.target.closest(".keep-out, .restore");
    if (decide) { decideSuspect(line, decide.classList.contains("restore") ? "restored" : "kept_out"); return; }
    if (event.target.closest("textarea, .conflict, .tools") || line.classList.contains("editing")) return;
    seekTo(Number(line.dataset.start), { play: true });
  });
  linesBox.addEventListener("dblclick", (event) => {
    const line = event.target.closest(".line");
    if (line && mayCorrect && event.target.closest(".text")) startEdit(line);
  });

  // -- a line: built for the live view, updated after a correction -----------------------------------
  function buildLine(u) {
    const line = el("li", "line");
    line.id = `u-${u.id}`;
    const time = el("span", "time");
    const who = el("span", "who");
    const text = el("span", "text");
    const tools = el("span", "tools");
    if (canCorrect && u.id !== null && u.id !== undefined) {
      const edit = el("button", "edit", "改");
      edit.type = "button";
      edit.title = "修改此句（回车保存，Esc 取消）";
      tools.append(edit);
    }
    const history = el("button", "history", "史");
    history.type = "button";
    history.title = "修改记录与识别原文";
    tools.append(history);
    line.append(time, who, text, tools, el("span", "note"));
    updateLine(line, u);
    return line;
  }

  function updateLine(line, u) {
    line.dataset.id = u.id;
    line.dataset.start = u.start_s;
    line.dataset.end = u.end_s;
    if (u.version !== undefined) line.dataset.version = u.version;
    line.dataset.speaker = u.speaker || "";
    line.querySelector(".time").textContent = clock(u.start_s);
    const who = line.querySelector(".who");
    who.textContent = u.role || u.speaker || "?";
    who.title = u.speaker || "";
    fillText(line.querySelector(".text"), u);
    paintSpeaker(line);
    line.classList.toggle("corrected", u.original_text !== undefined && u.text !== u.original_text);
    line.dataset.suspect = u.suspect || "";
    line.dataset.inRecord = String(u.in_record !== undefined ? u.in_record : !u.not_speech);
    line.dataset.decision = u.suspect_decision || "";
    markSuspect(line);
  }

  // -- a line's text: the recognizer's unsure words underlined while the text is still the recognizer's
  // (api/templating.py text_pieces does the same for the first render) --------------------------------
  function fillText(node, u) {
    const words = u.words || [];
    const spelled = words.map((w) => w.text).join("").trim() === u.text;
    node.replaceChildren();
    if (!spelled || !words.some((w) => w.probability < UNSURE)) { node.textContent = u.text; return; }
    let plain = "";
    words.forEach((w, i) => {
      let shown = i === 0 ? w.text.trimStart() : w.text;
      if (i === words.length - 1) shown = shown.trimEnd();
      if (w.probability < UNSURE && shown.trim()) {
        if (plain) node.append(plain);
        plain = "";
        const unsure = el("u", "unsure", shown);
        unsure.title = `识别把握 ${Math.round(w.probability * 100)}%`;
        node.append(unsure);
      } else plain += shown;
    });
    if (plain) node.append(plain);
  }

  // -- a colour per speaker, in the order of the speakers panel (8 colours, then round again) -----------
  const speakerOrder = Array.from(document.querySelectorAll("#speakers li")).map((li) => li.dataset.label);
  function colourOf(label) {
    if (!label) return "";
    if (!speakerOrder.includes(label)) speakerOrder.push(label);
    return String(speakerOrder.indexOf(label) % 8);
  }
  // The first lines come coloured in the HTML (api/routes/pages.py speaker_colours, the same order).
  function paintSpeaker(line) {
    const colour = colourOf(line.dataset.speaker);
    if (line.dataset.colour !== colour) line.dataset.colour = colour;
  }

  // -- a suspected line: kept, and struck through while it is out of the written record; the officer
  // confirms (keeps it out) or restores it, each a revision --------------------------------------------
  function markSuspect(line) {
    const reason = line.dataset.suspect;
    const inRecord = line.dataset.inRecord !== "false";
    const decision = line.dataset.decision;
    line.classList.toggle("suspect", Boolean(reason));
    line.classList.toggle("left-out", !inRecord);
    const note = line.querySelector(".note");
    const tools = line.querySelector(".tools");
    tools.querySelectorAll(".keep-out, .restore").forEach((b) => b.remove());
    if (!reason) { if (note) note.textContent = ""; return; }
    const state = decision === "kept_out" ? "已确认不入笔录" : decision === "restored" ? "已恢复入笔录"
      : inRecord ? "音频为语音，已入笔录" : "不入笔录，待确认";
    if (note) note.textContent = `${SUSPECT_REASON[reason] || reason} · ${state}`;
    if (!mayCorrect || !line.dataset.id || line.dataset.id === "null") return;
    if (inRecord || decision !== "kept_out") {
      const keepOut = el("button", "keep-out", inRecord ? "剔" : "确认");
      keepOut.type = "button";
      keepOut.title = inRecord ? "此句不入笔录（原文保留）" : "确认此句不入笔录（原文保留）";
      tools.prepend(keepOut);
    }
    if (!inRecord) {
      const restore = el("button", "restore", "恢复");
      restore.type = "button";
      restore.title = "此句确为所说，恢复入笔录";
      tools.prepend(restore);
    }
  }
  linesBox.querySelectorAll(".line").forEach(markSuspect);

  async function decideSuspect(line, decision) {
    try {
      const after = await api("POST", `${base}/utterances/${line.dataset.id}/suspect`,
        { version: Number(line.dataset.version), decision });
      updateLine(line, after);
    } catch (exc) {
      if (exc instanceof ApiError && exc.status === 409 && exc.body.current) {
        updateLine(line, exc.body.current);
        showLineError(line, "此句已被他人修改，已载入最新状态，请再确认。");
      } else showLineError(line, `操作失败：${exc.message}`);
    }
  }

  // -- editing in place: Enter saves with the version seen, Esc cancels, 409 shows the current text ----
  let editing = null;
  function startEdit(line) {
    if (!mayCorrect || editing) return;
    editing = line;
    line.classList.add("editing");
    const text = line.querySelector(".text");
    const box = el("textarea");
    box.value = text.textContent;
    box.rows = Math.max(1, Math.ceil(box.value.length / 40));
    box.setAttribute("aria-label", "修改此句");
    text.hidden = true;
    text.after(box);
    box.after(BiluLineTools.toolsFor(line, box));  // static/line_tools.js
    box.focus();
    box.addEventListener("keydown", (event) => {
      if (event.isComposing || event.keyCode === 229) return;  // Enter that picks a candidate in a Chinese IME
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        save(line, box.value, Number(line.dataset.version), { thenNext: true });
      }
      if (event.key === "Escape") { event.preventDefault(); endEdit(line); }
    });
  }

  function editNext(line) {
    const all = lines();
    const next = all[all.indexOf(line) + 1];
    if (!next) return;
    next.scrollIntoView({ block: "nearest" });
    startEdit(next);
  }

  function endEdit(line) {
    line.querySelector("textarea")?.remove();
    line.querySelector(".edit-tools")?.remove();
    line.querySelector(".conflict")?.remove();
    line.querySelector(".text").hidden = false;
    line.classList.remove("editing", "saving");
    editing = null;
  }

  async function save(line, newText, version, { thenNext = false } = {}) {
    const text = newText.trim();
    if (!text || text === line.querySelector(".text").textContent) {
      endEdit(line);
      if (thenNext) editNext(line);
      return;
    }
    line.classList.add("saving");
    line.querySelector(".conflict")?.remove();
    try {
      const after = await api("PATCH", `${base}/utterances/${line.dataset.id}`, { version, text });
      updateLine(line, after);
      endEdit(line);
      refreshFindings();
      if (thenNext) editNext(line);
    } catch (exc) {
      line.classList.remove("saving");
      if (exc instanceof ApiError && exc.status === 409 && exc.body.current) showConflict(line, text, exc.body);
      else showLineError(line, `保存失败：${exc.message}`);
    }
  }

  function showConflict(line, mine, body) {
    const box = el("div", "conflict");
    box.setAttribute("role", "alert");
    box.append(el("p", "", `此句已被他人修改（现为第 ${body.current_version} 版）。当前文本：`),
      el("p", "current-text", body.current.text));
    const keepMine = el("button", "", "仍用我的修改");
    keepMine.type = "button";
    keepMine.addEventListener("click", () => save(line, mine, body.current_version));
    const takeTheirs = el("button", "", "采用当前文本");
    takeTheirs.type = "button";
    takeTheirs.addEventListener("click", () => { updateLine(line, body.current); endEdit(line); });
    box.append(keepMine, takeTheirs);
    line.append(box);
  }

  function showLineError(line, message) {
    line.querySelector(".conflict")?.remove();
    const box = el("div", "conflict", message);
    box.setAttribute("role", "alert");
    line.append(box);
  }

  // -- a line's history beside the recognizer's original text ---------------------------------------
  const historyPanel = document.getElementById("history");
  document.getElementById("history-close").addEventListener("click", () => { historyPanel.hidden = true; });
  function describe(revision) {
    const { kind, before, after } = revision;
    if (kind === "suspect") return [before.in_record ? "入笔录" : "不入笔录", after.in_record ? "入笔录" : "不入笔录"];
    if (kind in before && kind in after) return [before[kind] ?? "（无）", after[kind] ?? "（无）"];
    const merged = after.merged || after;
    return [before.text ?? "", Array.isArray(after) ? after.map((a) => a.text).join(" | ") : (merged.text ?? "")];
  }
  async function showHistory(line) {
    const list = document.getElementById("history-list");
    const original = document.getElementById("history-original");
    list.replaceChildren(el("li", "loading empty", "载入中…"));
    historyPanel.hidden = false;
    historyPanel.scrollIntoView({ block: "nearest" });
    try {
      const [utterance, revisions] = await Promise.all([
        api("GET", `${base}/utterances/${line.dataset.id}`),
        api("GET", `${base}/utterances/${line.dataset.id}/revisions`),
      ]);
      original.textContent = utterance.original_text;
      list.replaceChildren();
      if (!revisions.length) list.append(el("li", "empty", "此句未被修改。"));
      for (const revision of revisions) {
        const [was, now] = describe(revision);
        const item = el("li");
        const who = revision.user_display_name || revision.user;  // the name people know, not the login name
        item.append(el("div", "rev-head", `${zhDateTime(revision.at)} · ${who} · ${REVISION_KIND[revision.kind] || revision.kind}`),
          el("div", "rev-before", `原：${was}`), el("div", "rev-after", `改：${now}`));
        list.append(item);
      }
    } catch (exc) {
      list.replaceChildren(el("li", "error", `无法载入：${exc.message}`));
    }
  }

  // -- speakers: a role for all their lines at once --------------------------------------------------
  const speakersBox = document.getElementById("speakers");
  const speakerError = document.getElementById("speaker-error");
  const roleChoices = speakersBox.dataset.roles.split("|").filter(Boolean);
  speakersBox.addEventListener("change", async (event) => {
    const select = event.target.closest(".role-select");
    if (!select) return;
    const item = select.closest("li");
    speakerError.textContent = "";
    try {
      const after = await api("PATCH", `${base}/speakers/${encodeURIComponent(item.dataset.label)}`,
        { version: Number(item.dataset.version), role: select.value || null });
      item.dataset.version = after.version;
      await refreshLines();
      refreshFindings();
    } catch (exc) {
      speakerError.textContent = exc.status === 409 ? "该说话人已被他人修改，已载入最新角色。" : `修改失败：${exc.message}`;
      if (exc.status === 409 && exc.body.current) {
        item.dataset.version = exc.body.current.version;
        select.value = exc.body.current.role || "";
      }
    }
  });

  // A speaker heard while the transcript grows; again with `version` once the run has given the roles.
  function addSpeaker(label, role, version) {
    if (!label) return;
    const known = speakersBox.querySelector(`li[data-label="${CSS.escape(label)}"]`);
    if (known) {
      if (version !== undefined) {
        known.dataset.version = String(version);
        const select = known.querySelector("select");
        if (role && !Array.from(select.options).some((o) => o.value === role)) select.append(new Option(role, role));
        select.value = role || "";
      }
      return;
    }
    const item = el("li");
    item.dataset.label = label;
    item.dataset.version = String(version ?? 1);
    item.dataset.colour = colourOf(label);
    const select = el("select", "role-select");
    select.setAttribute("aria-label", `${label} 的角色`);
    select.disabled = !mayCorrect;  // while recording: relabel once the session is closed
    for (const choice of ["", ...new Set([...roleChoices, role || ""])]) {
      const option = el("option", "", choice || "（未指定）");
      option.value = choice;
      option.selected = choice === (role || "");
      select.append(option);
    }
    item.append(el("span", "label", label), select);
    speakersBox.append(item);
  }


  async function refreshLines() {
    const byId = new Map(lines().map((line) => [line.dataset.id, line]));
    for (const u of await api("GET", `${base}/utterances`)) {
      const line = byId.get(String(u.id));
      if (line && line !== editing) updateLine(line, u);
    }
  }

  // -- the procedural checklist, each item linked to its evidence -----------------------------------
  const checklist = document.getElementById("checklist");
  function renderChecklist(findings) {
    checklist.replaceChildren();
    if (!findings.length) checklist.append(el("li", "empty", "尚无检查结果。"));
    for (const f of findings) {
      const item = el("li", `finding finding-${f.status}`);
      item.dataset.key = f.key;
      item.append(el("span", "badge", FINDING_STATUS[f.status] || f.status), " ", el("span", "title", f.title));
      if (f.utterance_ids && f.utterance_ids.length) {
        const link = el("a", "evidence", `证据 ${clock(f.start_s)}`);
        link.href = `#u-${f.utterance_ids[0]}`;
        link.dataset.utteranceId = f.utterance_ids[0];
        item.append(link);
      }
      checklist.append(item);
    }
  }
  async function refreshFindings() {
    try { renderChecklist(await api("GET", `${base}/findings`)); } catch (exc) { /* keep the shown list */ }
  }
  checklist.addEventListener("click", (event) => {
    const link = event.target.closest(".evidence");
    if (!link) return;
    event.preventDefault();
    const line = document.getElementById(`u-${link.dataset.utteranceId}`);
    if (!line) return;
    seekTo(Number(line.dataset.start));
    line.classList.add("target");
    setTimeout(() => line.classList.remove("target"), 2500);
    history.replaceState(null, "", `#u-${link.dataset.utteranceId}`);
  });

  // -- the guardrails (issue 20): re-drawn when a live session's statuses change ---------------------
  const GUARD_STATUS = { ok: "符合", violated: "违反", warning: "即将超时", not_applicable: "不适用" };
  function renderGuardrails(findings) {
    const list = document.getElementById("guardrails");
    if (!list) return;
    list.replaceChildren();
    for (const g of findings) {
      const item = el("li", `guard guard-${g.status}`);
      item.dataset.key = g.key;
      item.title = g.basis;
      item.append(el("span", "badge", GUARD_STATUS[g.status] || g.status), " ", el("span", "title", g.title),
        el("span", "detail", g.detail), el("span", "basis", `依据：${g.basis}`));
      list.append(item);
    }
  }

  // What static/following.js (a live room, an upload being transcribed), editor_tools.js and line_tools.js use.
  window.BiluSession = {
    base, player, linesBox, buildLine, updateLine, addSpeaker, renderChecklist, renderGuardrails, refreshFindings,
    refreshLines,
    seekTo, lines, linesChanged() { ordered = null; }, editing: () => editing, endEdit, showLineError, colourOf,
    speakerOrder, forget(line) { if (playing === line) playing = null; },
    allowCorrections() {  // an uploaded file, now transcribed: its lines may be corrected
      mayCorrect = canCorrect;
      root.dataset.mayCorrect = String(mayCorrect);
      speakersBox.querySelectorAll("select").forEach((select) => { select.disabled = !mayCorrect; });
    },
  };

  if (root.dataset.startT !== "") seekTo(Number(root.dataset.startT));
  else if (location.hash.startsWith("#u-")) {
    const line = document.getElementById(location.hash.slice(1));
    if (line) seekTo(Number(line.dataset.start));
  }
})();
