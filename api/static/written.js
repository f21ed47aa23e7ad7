// The session page's written record (讯问笔录) beside the transcript: upload a version, see each block linked to
// the lines it stands for (click to play), and the discrepancies by severity (click to play where they are).
"use strict";

(() => {
  const { api, ApiError, clock, el, csrfToken } = Bilu;
  const panel = document.getElementById("written-panel");
  if (!panel) return;
  const sessionId = document.getElementById("session").dataset.sessionId;
  const layout = document.getElementById("session");
  const column = document.getElementById("written");
  const blocksBox = document.getElementById("blocks");
  const list = document.getElementById("discrepancies");
  const status = document.getElementById("written-status");
  const downloads = document.getElementById("written-downloads");
  const player = document.getElementById("player");
  const form = document.getElementById("written-upload");

  const KIND = { written_not_said: "笔录有、录音无", said_not_written: "录音有、笔录无", changed: "内容不一致",
                 header_time: "起止时间与录音不符" };
  const SEVERITY = { high: "严重", medium: "一般", low: "轻微" };
  const WHAT = { rights_notice: "权利义务告知", recusal: "回避", counsel: "委托辩护人", record_review: "核对笔录",
                 answer: "回答", question: "提问", denial: "否认", retraction: "翻供", ill_treatment: "反映被打骂、逼供",
                 lawyer: "要求律师", stop: "要求停止", refuse_sign: "拒绝签字", polarity: "肯定/否定相反", amount: "数额",
                 date: "日期", time: "时间", number: "数字", name_or_place: "人名或地名", start: "开始时间", end: "结束时间" };
  const ORDER = { high: 0, medium: 1, low: 2 };

  // Play from `seconds`; with utterance ids, the first line is clicked so the transcript follows as it does.
  function play(seconds, utteranceIds) {
    document.querySelectorAll(".line.linked").forEach((line) => line.classList.remove("linked"));
    const lines = (utteranceIds || []).map((id) => document.getElementById(`u-${id}`)).filter(Boolean);
    lines.forEach((line) => line.classList.add("linked"));
    if (lines.length) { lines[0].querySelector(".text").click(); return; }
    if (seconds === null || seconds === undefined || !player.getAttribute("src")) return;
    player.currentTime = seconds;
    player.play().catch(() => {});
  }

  function select(node) {
    blocksBox.querySelectorAll(".selected").forEach((b) => b.classList.remove("selected"));
    if (node) { node.classList.add("selected"); node.scrollIntoView({ block: "nearest" }); }
  }

  function render(report) {
    layout.classList.add("has-written");
    column.hidden = false;
    downloads.hidden = false;
    document.getElementById("written-version").textContent =
      `第 ${report.version} 版 · ${report.filename}`;
    const flagged = new Map();
    for (const d of report.discrepancies) for (const b of d.blocks) flagged.set(b, d.severity);
    blocksBox.replaceChildren(...report.blocks.map((block) => {
      const item = el("li", "block");
      item.id = `b-${block.index}`;
      item.dataset.index = block.index;
      if (!block.utterance_ids.length) item.classList.add("unmatched");
      if (flagged.has(block.index)) item.classList.add(`flag-${flagged.get(block.index)}`);
      item.append(el("span", "who", block.speaker + (block.label ? `（${block.label}）` : "")),
                  el("span", "text", block.text),
                  el("span", "where", block.utterance_ids.length ? `${clock(block.start_s)} · ${Math.round(block.similarity * 100)}%`
                                                            : "录音中未找到"));
      item.addEventListener("click", () => { select(item); play(block.start_s, block.utterance_ids); });
      return item;
    }));
    const found = [...report.discrepancies].sort((a, b) => ORDER[a.severity] - ORDER[b.severity]
                                                           || (a.start_s ?? 0) - (b.start_s ?? 0));
    status.textContent = found.length ? `发现 ${found.length} 处不一致（严重 ${report.by_severity.high}，一般 `
                                        + `${report.by_severity.medium}，轻微 ${report.by_severity.low}）`
                                      : "书面笔录与录音录像一致，未发现不一致之处。";
    if (report.notes.includes("recording_clock_unknown")) status.textContent += "（未提供录音开始时间，未比对起止时间）";
    list.replaceChildren(...found.map((d) => {
      const item = el("li", `discrepancy severity-${d.severity}`);
      item.dataset.kind = d.kind;
      item.append(el("span", "badge", SEVERITY[d.severity]),
                  el("span", "kind", `${KIND[d.kind]}（${WHAT[d.what] || d.what}）`),
                  el("span", "at", d.start_s === null ? "" : clock(d.start_s)));
      if (d.written) item.append(el("span", "written", `笔录：${d.written}`));
      if (d.spoken) item.append(el("span", "spoken", `录音：${d.spoken}`));
      item.addEventListener("click", () => {
        select(d.blocks.length ? document.getElementById(`b-${d.blocks[0]}`) : null);
        play(d.start_s, d.kind === "written_not_said" ? [] : d.utterance_ids);
      });
      return item;
    }));
  }

  async function load() {
    if (panel.dataset.versions === "0") { status.textContent = "尚未导入书面笔录。"; return; }
    try {
      render(await api("GET", `/sessions/${sessionId}/written-record/check`));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) status.textContent = "尚未导入书面笔录。";
      else status.textContent = `比对失败：${error.message}`;
    }
  }

  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = new FormData(form);
      if (!body.get("recorded_at")) body.delete("recorded_at");
      status.textContent = "正在上传并比对…";
      const response = await fetch(`/sessions/${sessionId}/written-record`, {
        method: "POST", body, credentials: "same-origin", headers: { "X-CSRF-Token": csrfToken(), Accept: "application/json" },
      });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) { status.textContent = `无法导入：${data.detail || response.status}`; return; }
      form.reset();
      render(data);
    });
  }
  load();
})();
