// The session page's 完整性校验 panel: asks GET /sessions/{id}/verify and shows 完整, or each problem as text.
"use strict";

(() => {
  const button = document.getElementById("verify-run");
  if (!button) return;
  const result = document.getElementById("verify-result");
  const sessionId = document.getElementById("session").dataset.sessionId;
  const KINDS = { chain_broken: "审计链断裂", changed: "被改动", deleted: "被删除", inserted: "被插入",
    audio_missing: "音频缺失", audio_changed: "音频被改动" };

  button.addEventListener("click", async () => {
    button.disabled = true;
    result.replaceChildren();
    result.className = "verify-result";
    result.textContent = "校验中……";
    try {
      const report = await Bilu.api("GET", `/sessions/${sessionId}/verify`);
      result.replaceChildren();
      if (report.intact) {
        result.classList.add("intact");
        result.textContent = `完整（审计记录 ${report.entries} 条，数据 ${report.rows} 行，音频文件 ${report.audio_files} 个）`;
      } else {
        result.classList.add("broken");
        const head = document.createElement("p");
        head.textContent = `不完整：发现 ${report.problems.length} 处问题`;
        const list = document.createElement("ul");
        for (const problem of report.problems) {
          const item = document.createElement("li");
          // textContent only: a problem's detail is data, never markup
          item.textContent = `${KINDS[problem.kind] || problem.kind} ${problem.subject}：${problem.detail}`;
          list.append(item);
        }
        result.append(head, list);
      }
    } catch (error) {
      result.textContent = `校验失败：${error.message}`;
    } finally {
      button.disabled = false;
    }
  });
})();
