// The tools under a line being corrected on the session page (static/session.js opens the editor): move that
// one line to another speaker, split it at the caret, merge the next line into it. Each is one correction
// through the API (PATCH, POST …/split, POST …/merge), so a revision with its history.
"use strict";

const BiluLineTools = (() => {
  const { api, ApiError, el } = Bilu;
  const page = () => window.BiluSession;  // set by session.js, which runs after this file is read

  // Under the box being edited: move the line to another speaker, split it at the caret, merge the next line in.
  function toolsFor(line, box) {
    const tools = el("div", "edit-tools");
    const who = el("select", "move-speaker");
    who.setAttribute("aria-label", "此句的说话人");
    for (const label of page().speakerOrder) {
      const item = document.querySelector(`#speakers li[data-label="${CSS.escape(label)}"] select`);
      const role = item && item.value ? `（${item.value}）` : "";
      const option = el("option", "", `${label}${role}`);
      option.value = label;
      option.selected = label === line.dataset.speaker;
      who.append(option);
    }
    who.addEventListener("change", () => moveToSpeaker(line, who.value));
    const split = el("button", "split", "在光标处拆分");
    split.type = "button";
    split.title = "把此句从光标处拆成两句";
    split.addEventListener("mousedown", (event) => event.preventDefault());  // keep the caret in the box
    split.addEventListener("click", () => splitAtCaret(line, box));
    const merge = el("button", "merge", "与下一句合并");
    merge.type = "button";
    merge.addEventListener("click", () => mergeWithNext(line, box));
    tools.append(el("span", "hint", "说话人"), who, split, merge,
      el("span", "hint", "回车保存并改下一句 · Shift+回车换行 · Esc 取消"));
    return tools;
  }

  function lineError(line, exc, what) {
    if (exc instanceof ApiError && exc.status === 409) page().showLineError(line, "此句或相邻句已被他人修改，请刷新页面后再试。");
    else page().showLineError(line, `${what}失败：${exc.message}`);
  }

  async function moveToSpeaker(line, speaker) {
    if (speaker === line.dataset.speaker) return;
    try {
      const after = await api("PATCH", `${page().base}/utterances/${line.dataset.id}`,
        { version: Number(line.dataset.version), speaker });
      const box = line.querySelector("textarea");
      page().updateLine(line, after);
      if (box) line.querySelector(".text").hidden = true;  // still editing its text
      page().refreshFindings();
    } catch (exc) { lineError(line, exc, "改说话人"); }
  }

  // The time at the caret: between the recognizer's words when the text is still theirs, else in proportion.
  function timeAt(u, caret, text) {
    const start = Number(u.start_s), end = Number(u.end_s);
    let at = start + (end - start) * (caret / Math.max(1, text.length));
    const words = u.words || [];
    if (words.length && text === u.text && words.map((w) => w.text).join("").trim() === u.text) {
      // The line's text is the words joined and stripped: count from after the first word's leading spaces.
      let count = -(words[0].text.length - words[0].text.trimStart().length);
      for (let i = 0; i < words.length; i++) {
        const w = words[i];
        const after = count + w.text.length;
        if (caret <= after) {
          if (caret === after && i + 1 < words.length) at = (w.end_s + words[i + 1].start_s) / 2;
          else at = w.start_s + (w.end_s - w.start_s) * ((caret - count) / Math.max(1, w.text.length));
          break;
        }
        count = after;
      }
    }
    return Math.min(Math.max(at, start + 0.01), end - 0.01);
  }

  async function splitAtCaret(line, box) {
    const caret = box.selectionStart;
    const first = box.value.slice(0, caret).trim();
    const second = box.value.slice(caret).trim();
    if (!first || !second) { page().showLineError(line, "请把光标放在要拆开的位置（句中），再点拆分。"); return; }
    try {
      const u = await api("GET", `${page().base}/utterances/${line.dataset.id}`);
      const [a, b] = await api("POST", `${page().base}/utterances/${line.dataset.id}/split`, {
        version: Number(line.dataset.version), at_s: timeAt(u, caret, box.value), first_text: first, second_text: second,
      });
      page().endEdit(line);
      page().updateLine(line, a);
      line.after(page().buildLine(b));
      page().linesChanged();
      page().refreshFindings();
    } catch (exc) { lineError(line, exc, "拆分"); }
  }

  async function mergeWithNext(line, box) {
    const all = page().lines();
    const next = all[all.indexOf(line) + 1];
    if (!next) { page().showLineError(line, "这是最后一句，没有下一句可合并。"); return; }
    try {
      if (box.value.trim() && box.value.trim() !== line.querySelector(".text").textContent) {
        page().updateLine(line, await api("PATCH", `${page().base}/utterances/${line.dataset.id}`,
          { version: Number(line.dataset.version), text: box.value.trim() }));
      }
      const merged = await api("POST", `${page().base}/utterances/${line.dataset.id}/merge`, {
        version: Number(line.dataset.version), with_id: Number(next.dataset.id), with_version: Number(next.dataset.version),
      });
      page().endEdit(line);
      page().updateLine(line, merged);
      page().forget(next);
      next.remove();
      page().linesChanged();
      page().refreshFindings();
    } catch (exc) { lineError(line, exc, "合并"); }
  }

  return { toolsFor };
})();
