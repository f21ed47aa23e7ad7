// The session page while its transcript still grows: a live room (its WebSocket: lines, tentative text,
// speakers, alerts, the checklist; static/live.js shows the device and each seat's level) or an uploaded file
// being transcribed (polled from GET /sessions/{id}/progress: how far, and the lines stored since the last
// poll). Needs static/session.js.
"use strict";

(() => {
  const root = document.getElementById("session");
  const { api, clock, el } = Bilu;
  const page = window.BiluSession;
  const { base, linesBox } = page;

  function addLine(u) {
    if (u.id !== null && document.getElementById(`u-${u.id}`)) return false;
    linesBox.append(page.buildLine(u));
    page.linesChanged();
    return true;
  }

  // -- a live room --------------------------------------------------------------------------------------
  function followRoom() {
    const state = document.getElementById("live-state");
    const tentative = document.getElementById("tentative");
    let tentativeStart = null;  // where the shown tentative text begins (session seconds)
    const alerts = document.getElementById("alerts");
    const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws${base}`);
    const handlers = {
      utterance(message) {
        const u = message.utterance;
        if (!addLine(u)) return;
        // Utterances are stored (and sent) just after the recognition that already shows the next words:
        // hide the tentative only when this utterance is the text it showed.
        if (tentativeStart === null || tentativeStart < u.end_s) tentative.hidden = true;
        if (!page.editing()) tentative.scrollIntoView({ block: "nearest" });
      },
      tentative(message) {
        tentativeStart = message.text ? message.start_s : null;
        tentative.textContent = `${clock(message.start_s)}  ${message.text}`;
        tentative.hidden = !message.text;
      },
      speaker(message) { page.addSpeaker(message.speaker, message.role); },
      alert(message) {
        const at = message.start_s == null ? "" : `${clock(message.start_s)} `;  // a room agent's outage has no time in the session
        alerts.prepend(el("p", "alert", `⚠ ${at}${message.message}`));
      },
      agent(message) {  // a room agent (README "Room agents"): its link to the service
        state.textContent = message.state === "online" ? "审讯室终端在线，正在录音，转写实时显示"
          : "审讯室终端离线：录音在审讯室本地继续，恢复连接后补传";
      },
      checklist(message) { page.renderChecklist(message.findings); },
      guardrails(message) { page.renderGuardrails(message.findings); },
      state(message) {
        const words = { recording: "正在录音，转写实时显示", stopped: "录音已结束", interrupted: "录音中断，中断前录下的音频已保存",
          device_lost: "录音设备中断", recording_error: "录音因错误中断", not_recording: "未在录音（文件可能仍在转写）" };
        state.textContent = words[message.state] || message.state;
        if (message.message) state.textContent += `：${message.message}`;
        if (["stopped", "interrupted", "done"].includes(message.state)) setTimeout(() => location.reload(), 1200);
      },
    };
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      handlers[message.type]?.(message);
    });
    socket.addEventListener("close", () => { tentative.hidden = true; });
    const stop = document.getElementById("stop-recording");
    stop?.addEventListener("click", async () => {
      // A slip must not end the interview: the next recording would be a new 第 N 次 (static/live.js asks).
      if (!(await BiluLive.confirmStop())) return;
      stop.disabled = true;
      state.textContent = "正在结束录音，转写最后的语句…";
      try { await api("POST", `${base}/stop`); location.reload(); } catch (exc) {
        state.textContent = `无法结束：${exc.message}`;
        stop.disabled = false;
      }
    });
  }

  // -- an uploaded file being transcribed: no reload, the exports once it is done -----------------------
  const POLL_MS = 2000;
  const STATUS_ZH = { done: "转写完成", failed: "转写失败", interrupted: "已中断", recovered: "已恢复" };
  function followUpload() {
    const box = document.getElementById("transcribing");
    const percent = document.getElementById("transcribe-percent");
    const bar = document.getElementById("transcribe-bar");
    const empty = document.getElementById("no-lines");
    let lastId = Math.max(0, ...page.lines().map((line) => Number(line.dataset.id) || 0));

    async function poll() {
      let progress;
      try {
        progress = await api("GET", `${base}/progress?after_id=${lastId}`);
      } catch (exc) {
        percent.textContent = `无法读取转写进度：${exc.message}（稍后重试）`;
        setTimeout(poll, POLL_MS * 2);
        return;
      }
      for (const u of progress.utterances) {
        addLine(u);
        lastId = Math.max(lastId, u.id);
      }
      const shown = Math.floor(progress.percent);
      bar.value = shown;
      percent.textContent = progress.status !== "transcribing" ? "" : progress.transcribed_until_s > 0
        ? `已转写 ${shown}%（${clock(progress.transcribed_until_s)} / ${clock(progress.duration_s)}）`
        : "正在分析录音（区分说话人），随后逐句显示…";
      if (progress.status === "transcribing") { setTimeout(poll, POLL_MS); return; }
      await finished(progress);
    }

    async function finished(progress) {
      box.classList.add(`ended-${progress.status}`);
      box.querySelector(".state").textContent = STATUS_ZH[progress.status] || progress.status;
      bar.hidden = true;
      document.getElementById("session-status").textContent = STATUS_ZH[progress.status] || progress.status;
      if (progress.status === "failed") {
        percent.textContent = progress.error ? `原因：${progress.error}` : "";
        return;
      }
      // Roles are given at the end of the run, and the checklist is checked then: take both.
      const speakers = await api("GET", `${base}/speakers`);
      for (const s of speakers) page.addSpeaker(s.label, s.role, s.version);
      page.allowCorrections();
      await page.refreshLines();
      page.refreshFindings();
      if (!page.lines().length && empty) empty.hidden = false;
      document.getElementById("exports").hidden = false;
      document.getElementById("exports-wait")?.remove();
    }
    poll();
  }

  if (root.dataset.live === "true") followRoom();
  else if (root.dataset.following === "true") followUpload();
})();
