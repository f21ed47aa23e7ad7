// The live page's recording status: the time recorded, counting every second; the input device and whether
// it is sending audio (polled from GET /sessions/{id}/live); and the confirmation before 结束录音.
"use strict";

const BiluLive = (() => {
  const root = document.getElementById("session");
  const base = `/sessions/${root.dataset.sessionId}`;
  const elapsed = document.getElementById("live-elapsed");
  const deviceState = document.getElementById("device-state");
  const deviceName = document.getElementById("device-name");
  const seatLevels = document.getElementById("seat-levels");
  const POLL_MS = 1000;  // the seat meters move with it
  const STALLED_S = 3;  // no audio from the device for this long: say so (a cable pulled, a muted interface)

  // recorded_s as last read, and when (performance.now()): the clock runs on between reads while audio comes.
  let known = null;

  function show(status) {
    known = { recordedS: status.recorded_s || 0, at: performance.now(), running: status.recording,
      flowing: status.recording && status.audio_age_s !== null && status.audio_age_s < STALLED_S };
    if (status.device) deviceName.textContent = status.device;
    let text, kind;
    if (status.recording && status.audio_age_s === null) [text, kind] = ["已连接，等待音频…", "wait"];
    else if (status.recording && status.agent === "offline") [text, kind] = ["审讯室终端离线：录音在审讯室本地继续，恢复后补传", "bad"];
    else if (status.recording && known.flowing) [text, kind] = ["正常，正在接收音频", "ok"];
    else if (status.recording) [text, kind] = [`${Math.floor(status.audio_age_s)} 秒未收到音频，请检查麦克风和连线`, "bad"];
    else if (status.device_lost) [text, kind] = ["录音设备中断", "bad"];
    else [text, kind] = ["录音已停止", "idle"];
    deviceState.textContent = text;
    deviceState.className = `device-state device-${kind}`;
    if (seatLevels) Bilu.showLevels(seatLevels, status.recording && known.flowing ? status.levels_db : null);
  }

  function tick() {
    if (!known || !elapsed) return;
    const running = known.running && known.flowing ? (performance.now() - known.at) / 1000 : 0;
    // Never more than one poll ahead of what the device gave: the clock stops when the audio stops.
    elapsed.textContent = Bilu.clock(known.recordedS + Math.min(running, POLL_MS / 1000 + 1));
  }

  async function poll() {
    try {
      const status = await Bilu.api("GET", `${base}/live`);
      show(status);
      tick();
      if (!status.recording) return;  // stopped: the page reloads to the finished session
    } catch (exc) {
      deviceState.textContent = `无法读取录音状态：${exc.message}`;
      deviceState.className = "device-state device-bad";
    }
    setTimeout(poll, POLL_MS);
  }

  // Resolves true only when 结束录音 is chosen in the dialog; Esc, 继续录音 or Enter (its default) keep recording.
  function confirmStop() {
    const dialog = document.getElementById("stop-confirm");
    if (!dialog) return Promise.resolve(true);
    return new Promise((resolve) => {
      dialog.returnValue = "";
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "stop"), { once: true });
      dialog.showModal();
    });
  }

  if (root.dataset.live === "true") {
    poll();
    setInterval(tick, 250);
  }
  return { confirmStop };
})();
