// The sandbox's web chat: a small Telegram in the page, over the JSON API and the event
// stream of bot/sandbox/web.py. Plain JS, no framework, no build step.
// Message text is never inserted as markup: it is laid out as DOM nodes from the message's
// entities (UTF-16 offsets, which are exactly JS string indices).
"use strict";

(() => {
  // ---- the page's own texts: Vietnamese first, then English ------------------------------
  const TEXTS = {
    vi: {
      youAre: "Quý vị đang là",
      sandbox: "Môi trường thử nghiệm",
      admin: "Quản trị",
      secretariat: "Cơ quan thường trực",
      notStarted: "chưa bấm Bắt đầu",
      bot: "bot",
      writeMessage: "Nhập tin nhắn…",
      send: "Gửi",
      attach: "Đính kèm tệp",
      removeFile: "Bỏ tệp đính kèm",
      commands: "Danh sách lệnh",
      cancelReply: "Hủy trả lời",
      reply: "Trả lời",
      replyTo: "Trả lời {name}",
      edited: "đã sửa",
      photo: "🖼 Ảnh",
      file: "📎 Tệp",
      noMessages: "Chưa có tin nhắn",
      start: "BẮT ĐẦU",
      tooLong: "Tin nhắn quá dài: tối đa {n} ký tự (hiện có {m}).",
      captionTooLong: "Chú thích của tệp quá dài: tối đa {n} ký tự (hiện có {m}).",
      fileTooLarge: "Tệp quá lớn: tối đa {n} MB.",
      failed: "Không thực hiện được: {error}",
      offline: "Mất kết nối với môi trường thử nghiệm; đang kết nối lại…",
      botTime: "Giờ của bot (Hà Nội)",
      plusHour: "+1 giờ",
      plusDay: "+1 ngày",
      nextMessage: "Tin nhắn kế tiếp",
      nextIn: "Tin nhắn theo lịch kế tiếp: sau {when}",
      noNext: "Không còn tin nhắn nào theo lịch",
      hours: "{n} giờ",
      minutes: "{n} phút",
      days: "{n} ngày",
      moving: "Đang chuyển thời gian…",
      guide: "Hướng dẫn từng bước",
      loadingOlder: "Đang tải tin nhắn cũ hơn…",
      ok: "Đồng ý",
      toBottom: "Xuống tin nhắn mới nhất",
      unread: "{n} tin chưa đọc",
      joined: "{names} đã tham gia nhóm",
      left: "{name} đã rời nhóm",
      renamed: "Tên nhóm đã đổi thành “{title}”",
      created: "Nhóm đã được tạo",
      pinned: "Đã ghim: {text}",
      upgraded: "Nhóm đã được nâng cấp thành siêu nhóm",
      unsupported: "Tin nhắn loại này chưa hiển thị được trong môi trường thử nghiệm",
    },
    en: {
      youAre: "You are",
      sandbox: "Sandbox",
      admin: "Admin",
      secretariat: "Standing agency",
      notStarted: "has not pressed Start",
      bot: "bot",
      writeMessage: "Write a message…",
      send: "Send",
      attach: "Attach a file",
      removeFile: "Remove the file",
      commands: "Commands",
      cancelReply: "Cancel reply",
      reply: "Reply",
      replyTo: "Reply to {name}",
      edited: "edited",
      photo: "🖼 Photo",
      file: "📎 File",
      noMessages: "No messages yet",
      start: "START",
      tooLong: "The message is too long: at most {n} characters ({m} now).",
      captionTooLong: "The file's caption is too long: at most {n} characters ({m} now).",
      fileTooLarge: "The file is too large: at most {n} MB.",
      failed: "Could not do it: {error}",
      offline: "Lost the connection to the sandbox; reconnecting…",
      botTime: "The bot's time (Hanoi)",
      plusHour: "+1 hour",
      plusDay: "+1 day",
      nextMessage: "Next scheduled message",
      nextIn: "Next scheduled message: in {when}",
      noNext: "No scheduled message left",
      hours: "{n} h",
      minutes: "{n} min",
      days: "{n} days",
      moving: "Moving time…",
      guide: "Step by step",
      loadingOlder: "Loading older messages…",
      ok: "OK",
      toBottom: "Go to the newest message",
      unread: "{n} unread",
      joined: "{names} joined the group",
      left: "{name} left the group",
      renamed: "The group was renamed “{title}”",
      created: "The group was created",
      pinned: "Pinned: {text}",
      upgraded: "The group was upgraded to a supergroup",
      unsupported: "This kind of message cannot be shown in the sandbox yet",
    },
  };
  const HANOI = "Asia/Ho_Chi_Minh";
  const PAGE_SIZE = 50;

  let lang = "vi";
  // Numbers are written as the language writes them: 4.096 in Vietnamese, 4,096 in English.
  function t(key, vars) {
    const text = (TEXTS[lang] && TEXTS[lang][key]) || TEXTS.vi[key] || key;
    return text.replace(/\{(\w+)\}/g, (_, name) => {
      if (!vars || !(name in vars)) return "";
      const value = vars[name];
      return typeof value === "number" ? formatNumber(value) : String(value);
    });
  }

  function formatNumber(value) {
    return new Intl.NumberFormat(lang === "vi" ? "vi-VN" : "en-GB").format(value);
  }

  // ---- small helpers ---------------------------------------------------------------------
  const $ = (id) => document.getElementById(id);
  const token = document.querySelector('meta[name="sandbox-token"]').content;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function call(path, options) {
    const response = await fetch(path, options);
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    if (!response.ok) {
      throw new ApiError(response.status, (body && body.error) || response.statusText);
    }
    return body;
  }

  function get(path, params) {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params || {})) {
      if (value !== null && value !== undefined) query.set(key, String(value));
    }
    return call(`${path}?${query}`, { headers: { Accept: "application/json" } });
  }

  function post(path, body) {
    return call(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Sandbox-Token": token },
      body: JSON.stringify(body),
    });
  }

  // Telegram counts text in UTF-16 code units, as JS strings do.
  const textLength = (text) => text.length;

  function initials(name) {
    const words = name.trim().split(/\s+/).filter(Boolean);
    if (!words.length) return "?";
    const first = words[words.length - 1][0];
    const second = words.length > 1 ? words[0][0] : "";
    return (first + second).toUpperCase();
  }

  function avatar(name, id, className) {
    const node = el("div", `avatar ${className || ""} tone-${Math.abs(Number(id)) % 7}`, initials(name));
    node.setAttribute("aria-hidden", "true");
    return node;
  }

  function formatTime(unix) {
    return new Intl.DateTimeFormat(lang === "vi" ? "vi-VN" : "en-GB", {
      hour: "2-digit", minute: "2-digit", timeZone: HANOI,
    }).format(new Date(unix * 1000));
  }

  function formatFullDate(unix) {
    return new Intl.DateTimeFormat(lang === "vi" ? "vi-VN" : "en-GB", {
      dateStyle: "full", timeStyle: "short", timeZone: HANOI,
    }).format(new Date(unix * 1000));
  }

  // A day as the bot writes one (bot/formats.py): "thứ Năm, ngày 03/12/2026" /
  // "Thursday 3 December 2026", in Hanoi.
  // Formatters are costly to build: one of each, kept.
  const DAY_FORMATS = {
    vi: new Intl.DateTimeFormat("vi-VN", {
      weekday: "long", day: "2-digit", month: "2-digit", year: "numeric", timeZone: HANOI,
    }),
    en: new Intl.DateTimeFormat("en-GB", {
      weekday: "long", day: "numeric", month: "long", year: "numeric", timeZone: HANOI,
    }),
  };
  const DAY_KEY = new Intl.DateTimeFormat("en-CA", { timeZone: HANOI });

  function formatDay(unix) {
    const date = new Date(unix * 1000);
    if (lang === "vi") {
      const parts = Object.fromEntries(
        DAY_FORMATS.vi.formatToParts(date).map((part) => [part.type, part.value]),
      );
      const weekday = parts.weekday.charAt(0).toUpperCase() + parts.weekday.slice(1);
      return `${weekday}, ngày ${parts.day}/${parts.month}/${parts.year}`;
    }
    return DAY_FORMATS.en.format(date).replace(",", "");
  }

  function dayKey(unix) {
    return DAY_KEY.format(new Date(unix * 1000));
  }

  function formatSize(bytes) {
    const number = new Intl.NumberFormat(lang === "vi" ? "vi-VN" : "en-GB", {
      maximumFractionDigits: 1,
    });
    if (bytes >= 1024 * 1024) return `${number.format(bytes / 1024 / 1024)} MB`;
    if (bytes >= 1024) return `${number.format(bytes / 1024)} KB`;
    return `${bytes} B`;
  }

  // ---- state -----------------------------------------------------------------------------
  const state = {
    people: [],
    bot: null,
    limits: { text: 4096, caption: 1024, upload: 20 * 1024 * 1024 },
    me: null,
    chats: [],
    chat: null, // the open chat's summary
    nodes: new Map(), // message_id -> {message, node}
    oldest: null,
    more: false,
    loadingOlder: false,
    openSeq: 0,
    replyTo: null,
    placeholder: null,
    file: null,
    commands: [],
    menuIndex: -1,
    clock: null,
    moving: false,
    pressing: 0,
    lastAnswer: { text: "", at: 0 },
    events: null,
    streamBroken: false,
    readTimer: null,
    missed: 0,
  };

  function personById(id) {
    return state.people.find((person) => person.id === id);
  }

  function senderName(user) {
    if (!user) return "";
    const person = personById(user.id);
    if (person) return person.name;
    return [user.first_name, user.last_name].filter(Boolean).join(" ");
  }

  // ---- the texts of the page in the person's language -----------------------------------
  function applyTexts() {
    document.documentElement.lang = lang;
    for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
    for (const node of document.querySelectorAll("[data-t-title]")) {
      node.title = t(node.dataset.tTitle);
      node.setAttribute("aria-label", t(node.dataset.tTitle));
    }
    updatePlaceholder();
    $("dialog-ok").textContent = t("ok");
  }

  // ---- entities: Telegram's formatting, laid out as DOM nodes ---------------------------
  const LINK_SCHEMES = new Set(["http:", "https:", "mailto:", "tg:"]);

  function safeUrl(raw, assumeHttp) {
    if (typeof raw !== "string") return null;
    let text = raw.trim();
    if (assumeHttp && !/^[a-z][a-z0-9+.-]*:/i.test(text)) text = `http://${text}`;
    try {
      const url = new URL(text);
      return LINK_SCHEMES.has(url.protocol) ? url.href : null;
    } catch (_) {
      return null;
    }
  }

  function link(href) {
    const node = el("a", "link");
    node.href = href;
    node.target = "_blank";
    node.rel = "noopener noreferrer";
    return node;
  }

  // The node an entity becomes; `inner` is where its text goes (a <pre> holds a <code>).
  function entityNode(entity, text) {
    switch (entity.type) {
      case "bold": return { node: el("strong") };
      case "italic": return { node: el("em") };
      case "underline": return { node: el("u") };
      case "strikethrough": return { node: el("s") };
      case "code": return { node: el("code", "code") };
      case "pre": {
        const pre = el("pre", "pre");
        const code = el("code");
        if (entity.language) code.dataset.language = String(entity.language);
        pre.append(code);
        return { node: pre, inner: code };
      }
      case "spoiler": {
        const node = el("span", "spoiler");
        node.tabIndex = 0;
        node.addEventListener("click", () => node.classList.add("revealed"));
        return { node };
      }
      case "blockquote": return { node: el("blockquote", "quote-block") };
      case "expandable_blockquote": {
        const node = el("blockquote", "quote-block expandable");
        node.addEventListener("click", () => node.classList.toggle("expanded"));
        return { node };
      }
      case "text_link": {
        if (mentionedUser(entity) !== null) return { node: el("span", "mention") };
        const href = safeUrl(entity.url, false);
        return { node: href ? link(href) : el("span", "link-dead") };
      }
      case "url": {
        const href = safeUrl(text, true);
        return { node: href ? link(href) : el("span") };
      }
      case "email": {
        const node = link(`mailto:${text}`);
        return { node };
      }
      case "phone_number": return { node: el("span", "phone") };
      case "bot_command": {
        const node = el("span", "bot-command");
        node.addEventListener("click", () => sendText(text, null));
        return { node };
      }
      case "mention":
      case "text_mention": return { node: el("span", "mention") };
      case "hashtag":
      case "cashtag": return { node: el("span", "hashtag") };
      default: return { node: el("span") };
    }
  }

  // The person an entity names: a text_mention, or a tg://user?id= link (which Telegram
  // itself turns into a text_mention).
  function mentionedUser(entity) {
    if (entity.type === "text_mention" && entity.user) return entity.user.id;
    if (entity.type === "text_link" && typeof entity.url === "string") {
      const match = /^tg:\/\/user\?id=(\d+)$/i.exec(entity.url.trim());
      if (match) return Number(match[1]);
    }
    return null;
  }

  function renderEntities(text, entities) {
    const fragment = document.createDocumentFragment();
    const list = (Array.isArray(entities) ? entities : [])
      .filter((e) => e && Number.isInteger(e.offset) && Number.isInteger(e.length) && e.length > 0
        && e.offset >= 0 && e.offset < text.length)
      .slice()
      .sort((a, b) => a.offset - b.offset || b.length - a.length);

    // Lays text[start:end) into parent, with the entities of `items` (all starting inside
    // that range) nested as they nest; an entity reaching past its parent is cut there.
    function lay(parent, start, end, items) {
      let at = start;
      let i = 0;
      while (i < items.length) {
        const entity = items[i];
        const from = Math.max(entity.offset, at);
        const to = Math.min(entity.offset + entity.length, end);
        let j = i + 1;
        const inside = [];
        while (j < items.length && items[j].offset < entity.offset + entity.length) {
          inside.push(items[j]);
          j += 1;
        }
        if (from < to) {
          if (from > at) parent.append(text.slice(at, from));
          const { node, inner } = entityNode(entity, text.slice(from, to));
          lay(inner || node, from, to, inside.filter((e) => e.offset < to));
          parent.append(node);
          at = to;
        }
        i = j;
      }
      if (at < end) parent.append(text.slice(at, end));
    }

    lay(fragment, 0, text.length, list);
    return fragment;
  }

  // Files Telegram shows as a file to open (the bot sends documents; the others just in case).
  const FILE_KINDS = ["document", "audio", "video", "voice", "animation", "video_note"];

  function fileOf(message) {
    const kind = FILE_KINDS.find((k) => message[k] && message[k].file_id);
    return kind ? message[kind] : null;
  }

  // What Telegram writes in the middle of the chat for what is not a message someone sent.
  function serviceText(message) {
    if (Array.isArray(message.new_chat_members)) {
      return t("joined", { names: message.new_chat_members.map(senderName).join(", ") });
    }
    if (message.left_chat_member) return t("left", { name: senderName(message.left_chat_member) });
    if (message.new_chat_title) return t("renamed", { title: message.new_chat_title });
    if (message.group_chat_created || message.supergroup_chat_created) return t("created");
    if (message.pinned_message) return t("pinned", { text: preview(message.pinned_message) });
    if (message.migrate_from_chat_id || message.migrate_to_chat_id) return t("upgraded");
    const shown = message.text ?? message.caption ?? message.photo ?? message.sticker;
    if (shown === undefined && !fileOf(message)) return t("unsupported");
    return null;
  }

  function preview(message) {
    if (!message) return t("noMessages");
    const service = serviceText(message);
    if (service !== null) return service;
    if (message.sticker) return message.sticker.emoji || "🖼";
    const text = message.text || message.caption || "";
    if (message.photo) return text ? `${t("photo")} · ${text}` : t("photo");
    const file = fileOf(message);
    if (file) return `📎 ${file.file_name || t("file")}${text ? ` · ${text}` : ""}`;
    return text;
  }

  // ---- people ----------------------------------------------------------------------------
  function renderPeople() {
    const list = $("people");
    list.replaceChildren();
    for (const person of state.people) {
      const item = el("li");
      const button = el("button", person.is_admin ? "person admin" : "person");
      button.type = "button";
      button.dataset.person = String(person.id);
      if (state.me && person.id === state.me.id) {
        button.classList.add("active");
        button.setAttribute("aria-current", "true");
      }
      const text = el("div", "person-text");
      const name = el("div", "person-name", person.name);
      if (person.is_admin) name.append(" ", el("span", "badge admin", t("admin")));
      text.append(name);
      const where = [person.position, person.agency || (person.is_admin ? t("secretariat") : "")]
        .filter(Boolean).join(" · ");
      text.append(el("div", "person-where", where));
      button.title = [person.name, where].filter(Boolean).join("\n"); // what the column cuts
      if (!person.registered) text.append(el("div", "person-note", t("notStarted")));
      button.append(avatar(person.name, person.id), text);
      button.addEventListener("click", () => switchPerson(person.id).catch(report));
      item.append(button);
      list.append(item);
    }
  }

  async function switchPerson(id) {
    const person = personById(id);
    if (!person || (state.me && state.me.id === id)) return;
    const keep = state.chat ? state.chat.id : null;
    clearTimeout(state.readTimer);
    state.chat = null;
    const seq = ++state.openSeq; // a page of the previous person's chat still on its way is dropped
    state.me = person;
    // The previous person's chats go at once: a click on one of them would open a chat
    // this person may not be in.
    state.chats = [];
    renderChats();
    lang = person.language === "en" ? "en" : "vi";
    applyTexts();
    renderPeople();
    clearReply();
    clearFile();
    connectEvents();
    await Promise.all([loadChats(), loadSteps(), loadClock()]);
    // A chat the person opened while their list was loading stays open.
    if (seq !== state.openSeq) return;
    const stay = state.chats.find((chat) => chat.id === keep && chat.type !== "private");
    await openChat(stay ? stay.id : state.chats[0] && state.chats[0].id);
  }

  // ---- chats -----------------------------------------------------------------------------
  async function loadChats() {
    const asked = state.me.id;
    const { chats } = await get("/api/chats", { as: asked });
    if (state.me.id !== asked) return; // another person was chosen meanwhile
    state.chats = chats;
    // The open chat is the same chat, now with what the world says of it.
    if (state.chat) state.chat = chats.find((chat) => chat.id === state.chat.id) || state.chat;
    renderChats();
  }

  function renderChats() {
    const list = $("chats");
    list.replaceChildren();
    for (const chat of state.chats) {
      const item = el("li");
      const button = el("button", "chat-item");
      button.type = "button";
      button.dataset.chat = String(chat.id);
      button.title = chat.title;
      if (state.chat && chat.id === state.chat.id) button.classList.add("active");
      const body = el("div", "chat-item-body");
      const top = el("div", "chat-item-top");
      top.append(el("span", "chat-item-title", chat.title));
      if (chat.last) top.append(el("span", "chat-item-time", formatTime(chat.last.date)));
      const bottom = el("div", "chat-item-bottom");
      bottom.append(el("span", "chat-item-preview", preview(chat.last)));
      if (chat.unread > 0) {
        const badge = el("span", "unread", String(chat.unread));
        badge.title = t("unread", { n: chat.unread });
        bottom.append(badge);
      }
      body.append(top, bottom);
      const picture = avatar(chat.title, chat.id, chat.type === "private" ? "bot-avatar" : "");
      // Shown instead of the badge when the column is too narrow for the chat's name.
      if (chat.unread > 0) {
        picture.append(el("span", "avatar-unread", chat.unread > 99 ? "99+" : String(chat.unread)));
      }
      button.append(picture, body);
      button.addEventListener("click", () => openChat(chat.id).catch(report));
      item.append(button);
      list.append(item);
    }
  }

  async function openChat(chatId) {
    const chat = state.chats.find((c) => c.id === chatId);
    if (!chat) return;
    const seq = ++state.openSeq;
    state.chat = chat;
    location.hash = `as=${state.me.id}&chat=${chat.id}`;
    clearReply();
    hideCommands();
    state.nodes = new Map();
    state.missed = 0;
    state.oldest = null;
    state.more = false;
    $("message-list").replaceChildren();
    $("chat-title").textContent = chat.title;
    $("chat-sub").textContent = chat.type === "private" ? `@${state.bot.username} · ${t("bot")}` : "";
    $("chat-avatar").replaceChildren(avatar(chat.title, chat.id, chat.type === "private" ? "bot-avatar" : ""));
    renderChats();
    const [page, commands] = await Promise.all([
      get("/api/messages", { as: state.me.id, chat: chat.id, limit: PAGE_SIZE }),
      get("/api/commands", { as: state.me.id, chat: chat.id }).catch(() => ({ commands: [] })),
    ]);
    if (seq !== state.openSeq) return; // another chat was opened meanwhile
    state.commands = commands.commands || [];
    state.more = page.more;
    // Anything already shown was pushed while the page was on its way: it is newer.
    const fragment = document.createDocumentFragment();
    for (const message of page.messages) {
      if (!state.nodes.has(message.message_id)) fragment.append(messageNode(message));
    }
    $("message-list").prepend(fragment);
    refreshDays();
    state.oldest = page.messages.length ? page.messages[0].message_id : null;
    updateStartButton();
    scrollToBottom();
    const last = page.messages[page.messages.length - 1];
    if (last) maybeForceReply(last);
    markRead();
    $("input").focus();
  }

  async function loadOlder() {
    if (!state.more || state.loadingOlder || state.oldest === null || !state.chat) return;
    state.loadingOlder = true;
    const seq = state.openSeq;
    const box = $("messages");
    box.classList.add("loading");
    $("history-sentinel").textContent = t("loadingOlder");
    try {
      const page = await get("/api/messages", {
        as: state.me.id, chat: state.chat.id, before: state.oldest, limit: PAGE_SIZE,
      });
      if (seq !== state.openSeq) return;
      const fromBottom = box.scrollHeight - box.scrollTop;
      const fragment = document.createDocumentFragment();
      for (const message of page.messages) {
        if (!state.nodes.has(message.message_id)) fragment.append(messageNode(message));
      }
      const added = fragment.childElementCount;
      $("message-list").prepend(fragment);
      refreshDays(null, added + 1); // the new rows and the one that was first
      box.scrollTop = box.scrollHeight - fromBottom; // keep what the person was reading in place
      state.more = page.more;
      if (page.messages.length) state.oldest = page.messages[0].message_id;
    } catch (error) {
      showToast(t("failed", { error: error.message }));
    } finally {
      state.loadingOlder = false;
      box.classList.remove("loading");
      $("history-sentinel").textContent = "";
    }
    // Still at the top (a tall screen): keep going.
    if (state.more && box.scrollTop < 200) requestAnimationFrame(loadOlder);
  }

  function scrollToBottom() {
    const box = $("messages");
    box.scrollTop = box.scrollHeight;
    updateToBottom();
  }

  // The round "newest" button of Telegram: shown when the person has scrolled up, with the
  // number of messages that came since.
  function updateToBottom() {
    const away = !nearBottom();
    if (!away) state.missed = 0;
    $("to-bottom").classList.toggle("hidden", !away);
    const count = $("to-bottom-count");
    count.textContent = state.missed > 99 ? "99+" : String(state.missed);
    count.classList.toggle("hidden", state.missed === 0);
  }

  function nearBottom() {
    const box = $("messages");
    return box.scrollHeight - box.scrollTop - box.clientHeight < 120;
  }

  function markRead() {
    clearTimeout(state.readTimer);
    const chat = state.chat;
    const me = state.me;
    state.readTimer = setTimeout(() => {
      // Only for the chat and person it was meant for: a switch cancels it.
      if (!chat || chat.id !== (state.chat && state.chat.id) || me !== state.me) return;
      if (document.hidden) return;
      const ids = [...state.nodes.keys()];
      if (!ids.length) return;
      const newest = Math.max(...ids);
      post("/api/read", { as: me.id, chat: chat.id, message_id: newest }).catch(() => {});
      state.chat.unread = 0;
      renderChats();
    }, 200);
  }

  // ---- a message as Telegram shows it ----------------------------------------------------
  function messageNode(message) {
    const service = serviceText(message);
    if (service !== null) {
      const row = el("div", "message service");
      row.dataset.id = String(message.message_id);
      row.append(el("div", "service-text", service));
      state.nodes.set(message.message_id, { message, node: row });
      return row;
    }
    const mine = message.from && state.me && message.from.id === state.me.id;
    const row = el("div", `message ${mine ? "out" : "in"}`);
    row.dataset.id = String(message.message_id);
    const bubble = el("div", "bubble");
    const group = state.chat && state.chat.type !== "private";
    if (group && !mine && message.from) {
      const name = el("div", `sender tone-text-${Math.abs(message.from.id) % 7}`, senderName(message.from));
      bubble.append(name);
    }
    if (message.reply_to_message) bubble.append(quoteNode(message.reply_to_message));
    if (Array.isArray(message.photo) && message.photo.length) bubble.append(photoNode(message.photo));
    if (message.sticker) bubble.append(el("div", "sticker", message.sticker.emoji || "🖼"));
    const file = fileOf(message);
    if (file) bubble.append(documentNode(file));
    const text = message.text ?? message.caption;
    if (text) {
      const body = el("div", "text");
      body.append(renderEntities(text, message.text != null ? message.entities : message.caption_entities));
      bubble.append(body);
    }
    const meta = el("span", "meta");
    if (message.edit_date) meta.append(el("span", "edited", t("edited")));
    const time = el("time", "time", formatTime(message.date));
    time.title = formatFullDate(message.date);
    meta.append(time);
    bubble.append(meta);
    const replyButton = el("button", "reply-arrow", "↩");
    replyButton.type = "button";
    replyButton.title = t("reply");
    replyButton.setAttribute("aria-label", t("reply"));
    replyButton.addEventListener("click", () => setReply(message, null));
    // As in Telegram Desktop, a double click on a message replies to it.
    bubble.addEventListener("dblclick", (event) => {
      if (event.target.closest("a, button, .spoiler")) return;
      window.getSelection().removeAllRanges();
      setReply(message, null);
    });
    const line = el("div", "message-line");
    line.append(bubble, replyButton);
    row.append(line);
    const keyboard = message.reply_markup && message.reply_markup.inline_keyboard;
    if (Array.isArray(keyboard) && keyboard.length) row.append(keyboardNode(message, keyboard));
    state.nodes.set(message.message_id, { message, node: row });
    return row;
  }

  function quoteNode(original) {
    const quote = el("button", "reply-quote");
    quote.type = "button";
    quote.append(el("div", "reply-quote-name", senderName(original.from)));
    quote.append(el("div", "reply-quote-text", preview(original)));
    quote.addEventListener("click", () => {
      const target = state.nodes.get(original.message_id);
      if (!target) return;
      target.node.scrollIntoView({ block: "center", behavior: "smooth" });
      target.node.classList.add("flash");
      setTimeout(() => target.node.classList.remove("flash"), 1200);
    });
    return quote;
  }

  function photoNode(sizes) {
    const best = sizes[sizes.length - 1];
    const anchor = link(`/api/files/${encodeURIComponent(best.file_id)}`);
    anchor.className = "photo";
    const image = el("img");
    image.src = anchor.href;
    image.alt = t("photo");
    // Its room is kept before it loads, so the history does not jump.
    if (best.width > 0 && best.height > 0) {
      image.width = best.width;
      image.height = best.height;
    }
    image.loading = "lazy";
    anchor.append(image);
    return anchor;
  }

  function documentNode(document_) {
    const anchor = el("a", "document");
    anchor.href = `/api/files/${encodeURIComponent(document_.file_id)}`;
    anchor.download = document_.file_name || "file";
    const name = document_.file_name || t("file");
    const ext = (name.includes(".") ? name.split(".").pop() : "").slice(0, 4).toUpperCase();
    anchor.append(el("span", "document-icon", ext || "⬇"));
    const text = el("span", "document-text");
    text.append(el("span", "document-name", name));
    if (document_.file_size) text.append(el("span", "document-size", formatSize(document_.file_size)));
    anchor.append(text);
    return anchor;
  }

  function keyboardNode(message, rows) {
    const box = el("div", "keyboard");
    for (const row of rows) {
      if (!Array.isArray(row)) continue;
      const line = el("div", "keyboard-row");
      for (const key of row) {
        if (!key || typeof key.text !== "string") continue;
        if (key.url) {
          const href = safeUrl(key.url, false);
          const anchor = href ? link(href) : el("span");
          anchor.className = "key key-url";
          anchor.textContent = key.text;
          line.append(anchor);
          continue;
        }
        const button = el("button", "key", key.text);
        button.type = "button";
        if (key.web_app && typeof key.web_app.url === "string") {
          // A Mini App (the desk): opened in a new tab, as Telegram opens it over the chat.
          button.classList.add("key-web-app");
          button.addEventListener("click", () => openMiniApp(message, key.web_app.url, button));
        } else if (typeof key.callback_data === "string") {
          button.addEventListener("click", () => press(message, key.callback_data, button));
        } else {
          button.disabled = true;
        }
        line.append(button);
      }
      box.append(line);
    }
    return box;
  }

  // A chip with the day above the first message of each day, as Telegram shows: after a
  // jump of the clock the new day is plain to see. Re-done after every change to the list.
  // `from` (a row) and `count`: only that stretch changed (a page put on top, a message
  // added at the bottom), so a long history is not walked again each time.
  function refreshDays(from, count) {
    const before = from && from.previousElementSibling;
    const above = before && state.nodes.get(Number(before.dataset.id));
    let previous = above ? dayKey(above.message.date) : null;
    let left = count === undefined ? Infinity : count;
    for (let row = from || $("message-list").firstElementChild; row && left > 0;
      row = row.nextElementSibling, left -= 1) {
      const entry = state.nodes.get(Number(row.dataset.id));
      if (!entry) continue;
      const day = dayKey(entry.message.date);
      const chip = row.firstElementChild && row.firstElementChild.classList.contains("day")
        ? row.firstElementChild : null;
      if (day !== previous) {
        const text = formatDay(entry.message.date);
        if (!chip) row.prepend(el("div", "day", text));
        else if (chip.textContent !== text) chip.textContent = text;
      } else if (chip) {
        chip.remove();
      }
      previous = day;
    }
  }

  function upsertMessage(message) {
    const existing = state.nodes.get(message.message_id);
    if (existing) {
      const fresh = messageNode(message);
      existing.node.replaceWith(fresh);
      refreshDays(fresh, 2);
      return false;
    }
    const stick = nearBottom() || (message.from && message.from.id === state.me.id);
    const row = messageNode(message);
    $("message-list").append(row);
    refreshDays(row, 1);
    if (stick) scrollToBottom();
    else {
      state.missed += 1;
      updateToBottom();
    }
    updateStartButton();
    return true;
  }

  // ---- buttons, answers, alerts ----------------------------------------------------------
  async function press(message, data, button) {
    state.pressing += 1;
    button.classList.add("pressing");
    try {
      const { answer } = await post("/api/press", {
        as: state.me.id, chat: message.chat.id, message_id: message.message_id, data,
      });
      if (answer) showAnswer(answer);
    } catch (error) {
      showToast(t("failed", { error: error.message }));
    } finally {
      state.pressing -= 1;
      button.classList.remove("pressing");
    }
  }

  async function openMiniApp(message, url, button) {
    // The tab is opened during the click (a browser blocks one opened later), then sent
    // where the local Telegram says, with the launch data it signed for this person.
    const tab = window.open("", "_blank");
    if (tab) tab.opener = null;
    button.classList.add("pressing");
    try {
      const opened = await post("/api/mini-app", {
        as: state.me.id, chat: message.chat.id, message_id: message.message_id, url,
      });
      if (tab) tab.location.href = opened.url;
      else window.location.href = opened.url;
    } catch (error) {
      if (tab) tab.close();
      showToast(t("failed", { error: error.message }));
    } finally {
      button.classList.remove("pressing");
    }
  }

  function showAnswer(answer) {
    if (!answer || !answer.text) return;
    state.lastAnswer = { text: answer.text, at: Date.now() };
    if (answer.show_alert) showDialog(answer.text);
    else showToast(answer.text);
  }

  // What failed, said in a toast (the world's refusals come in the person's language).
  function report(error) {
    showToast(t("failed", { error: error.message }));
  }

  let toastTimer = null;
  function showToast(text) {
    const toast = $("toast");
    toast.textContent = text;
    toast.classList.remove("hidden");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => toast.classList.add("hidden"), 3000);
  }

  function showDialog(text) {
    $("dialog-title").textContent = state.bot ? state.bot.first_name : "";
    $("dialog-text").textContent = text;
    $("dialog").classList.remove("hidden");
    $("dialog-ok").focus();
  }

  function closeDialog() {
    $("dialog").classList.add("hidden");
    $("input").focus();
  }

  // ---- replies and ForceReply ------------------------------------------------------------
  function setReply(message, placeholder) {
    state.replyTo = message;
    state.placeholder = placeholder;
    $("reply-name").textContent = t("replyTo", { name: senderName(message.from) });
    $("reply-text").textContent = preview(message);
    $("reply-bar").classList.remove("hidden");
    updatePlaceholder();
    $("input").focus();
  }

  function clearReply() {
    state.replyTo = null;
    state.placeholder = null;
    $("reply-bar").classList.add("hidden");
    updatePlaceholder();
  }

  function updatePlaceholder() {
    $("input").placeholder = state.placeholder || t("writeMessage");
  }

  // The bot asks this person to answer by replying (ForceReply): the composer switches to
  // a reply to that message, as Telegram does.
  function maybeForceReply(message) {
    const markup = message.reply_markup;
    if (!markup || !markup.force_reply || !state.me) return;
    if (message.from && message.from.id === state.me.id) return;
    if (markup.selective) {
      const replied = message.reply_to_message;
      const repliedToMe = replied && replied.from && replied.from.id === state.me.id;
      const mentioned = (message.entities || []).some((e) => mentionedUser(e) === state.me.id);
      const privateChat = message.chat && message.chat.type === "private";
      if (!repliedToMe && !mentioned && !privateChat) return;
    }
    setReply(message, markup.input_field_placeholder || null);
  }

  // ---- the command menu ------------------------------------------------------------------
  function showCommands(filter) {
    const menu = $("command-menu");
    menu.replaceChildren();
    state.menuIndex = -1;
    const wanted = (filter || "").toLowerCase();
    const matching = state.commands.filter((c) => c.command.toLowerCase().startsWith(wanted));
    if (!matching.length) {
      hideCommands();
      return;
    }
    for (const command of matching) {
      const item = el("button", "command");
      item.type = "button";
      item.setAttribute("role", "option");
      item.append(el("span", "command-name", `/${command.command}`));
      item.append(el("span", "command-description", command.description));
      item.addEventListener("click", () => pickCommand(command));
      menu.append(item);
    }
    menu.classList.remove("hidden");
  }

  function pickCommand(command) {
    const input = $("input");
    input.value = `/${command.command} `;
    hideCommands();
    input.focus();
    autosize();
  }

  function hideCommands() {
    $("command-menu").classList.add("hidden");
  }

  // Up and Down move through the menu, Tab or Enter take the one marked (Tab the first when
  // none is): as in Telegram, Enter without a marked command sends what was typed.
  function menuKey(event) {
    const menu = $("command-menu");
    if (menu.classList.contains("hidden")) return false;
    const items = [...menu.querySelectorAll(".command")];
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      const step = event.key === "ArrowDown" ? 1 : -1;
      state.menuIndex = (state.menuIndex + step + items.length) % items.length;
      items.forEach((item, i) => item.classList.toggle("marked", i === state.menuIndex));
      items[state.menuIndex].scrollIntoView({ block: "nearest" });
      return true;
    }
    const marked = items[state.menuIndex];
    if ((event.key === "Enter" && marked) || event.key === "Tab") {
      (marked || items[0]).click();
      return true;
    }
    return false;
  }

  // ---- the composer ----------------------------------------------------------------------
  function showError(text) {
    const box = $("composer-error");
    box.textContent = text;
    box.classList.toggle("hidden", !text);
  }

  function autosize() {
    const input = $("input");
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 200)}px`;
    updateCounter();
  }

  function updateCounter() {
    const length = textLength($("input").value);
    const limit = state.file ? state.limits.caption : state.limits.text;
    const counter = $("counter");
    const show = length > limit - 200;
    counter.classList.toggle("hidden", !show);
    counter.classList.toggle("over", length > limit);
    counter.textContent = show ? formatNumber(limit - length) : "";
  }

  function updateStartButton() {
    const empty = state.chat && state.chat.type === "private" && state.nodes.size === 0;
    $("start-button").classList.toggle("hidden", !empty);
    document.querySelector(".composer-row").classList.toggle("hidden", Boolean(empty));
  }

  async function submit() {
    const input = $("input");
    const text = input.value;
    showError("");
    hideCommands();
    if (state.file) {
      await sendFile(state.file, text);
      return;
    }
    if (!text.trim()) return;
    if (textLength(text) > state.limits.text) {
      showError(t("tooLong", { n: state.limits.text, m: textLength(text) }));
      return;
    }
    const ok = await sendText(text, state.replyTo ? state.replyTo.message_id : null);
    if (ok) {
      input.value = "";
      autosize();
      clearReply();
    }
  }

  async function sendText(text, replyTo) {
    if (!state.chat) return false;
    try {
      const { message } = await post("/api/send", {
        as: state.me.id, chat: state.chat.id, text, reply_to: replyTo,
      });
      if (message && message.chat.id === state.chat.id) upsertMessage(message);
      scrollToBottom();
      return true;
    } catch (error) {
      showError(error.message);
      return false;
    }
  }

  async function sendFile(file, caption) {
    if (textLength(caption) > state.limits.caption) {
      showError(t("captionTooLong", { n: state.limits.caption, m: textLength(caption) }));
      return;
    }
    if (file.size > state.limits.upload) {
      showError(t("fileTooLarge", { n: Math.round(state.limits.upload / 1024 / 1024) }));
      return;
    }
    const form = new FormData();
    form.append("as", String(state.me.id));
    form.append("chat", String(state.chat.id));
    form.append("caption", caption);
    if (state.replyTo) form.append("reply_to", String(state.replyTo.message_id));
    form.append("file", file, file.name);
    $("send-button").disabled = true;
    try {
      const { message } = await call("/api/upload", {
        method: "POST", headers: { "X-Sandbox-Token": token }, body: form,
      });
      if (message && message.chat.id === state.chat.id) upsertMessage(message);
      scrollToBottom();
      $("input").value = "";
      autosize();
      clearFile();
      clearReply();
    } catch (error) {
      showError(error.status === 413 ? t("fileTooLarge", { n: 20 }) : error.message);
    } finally {
      $("send-button").disabled = false;
    }
  }

  function chooseFile(file) {
    state.file = file;
    $("attach-name").textContent = `📎 ${file.name} · ${formatSize(file.size)}`;
    $("attach-bar").classList.remove("hidden");
    showError(file.size > state.limits.upload
      ? t("fileTooLarge", { n: Math.round(state.limits.upload / 1024 / 1024) }) : "");
    updateCounter();
    $("input").focus();
  }

  function clearFile() {
    state.file = null;
    $("file-input").value = "";
    $("attach-bar").classList.add("hidden");
    updateCounter();
  }

  // Who has pressed Start changes what the list says of them ("has not pressed Start").
  async function reloadPeople() {
    const world = await get("/api/world", { as: state.me.id });
    state.people = world.people;
    state.me = personById(state.me.id) || state.me;
    renderPeople();
  }

  // ---- the clock -------------------------------------------------------------------------
  async function loadClock() {
    const world = await get("/api/world", { as: state.me.id });
    renderClock(world.clock);
  }

  function relative(fromIso, toIso) {
    const minutes = Math.max(0, Math.round((Date.parse(toIso) - Date.parse(fromIso)) / 60000));
    if (minutes < 60) return t("minutes", { n: minutes });
    if (minutes < 48 * 60) return t("hours", { n: Math.round(minutes / 60) });
    return t("days", { n: Math.round(minutes / 1440) });
  }

  function renderClock(clock) {
    state.clock = clock;
    $("clock-local").textContent = clock.local;
    $("clock-next").textContent = state.moving ? t("moving")
      : clock.next_due ? t("nextIn", { when: relative(clock.utc, clock.next_due) }) : t("noNext");
    for (const button of document.querySelectorAll(".clock-buttons button")) {
      button.disabled = state.moving || (button.dataset.step === "next" && !clock.next_due);
    }
  }

  async function moveClock(step) {
    if (state.moving) return;
    state.moving = true;
    renderClock(state.clock);
    try {
      const { clock } = await post("/api/clock", { as: state.me.id, step });
      state.moving = false;
      renderClock(clock);
    } catch (error) {
      state.moving = false;
      renderClock(state.clock);
      showToast(t("failed", { error: error.message }));
    }
  }

  // ---- the guided steps ------------------------------------------------------------------
  async function loadSteps() {
    const { steps } = await get("/api/steps", { as: state.me.id });
    renderSteps(steps);
  }

  function renderSteps(steps) {
    const list = $("steps");
    list.replaceChildren();
    for (const step of steps) {
      const item = el("li", `step${step.done ? " done" : ""}`);
      item.dataset.step = step.id;
      item.append(el("span", "step-check", step.done ? "✓" : ""));
      const text = el("div", "step-text");
      text.append(el("div", "step-title", step.title), el("div", "step-hint", step.hint));
      item.append(text);
      list.append(item);
    }
    $("steps-count").textContent = `${steps.filter((s) => s.done).length}/${steps.length}`;
  }

  // ---- server push -----------------------------------------------------------------------
  function connectEvents() {
    if (state.events) state.events.close();
    const source = new EventSource(`/api/events?as=${encodeURIComponent(state.me.id)}`);
    state.events = source;
    const on = (kind, handler) => source.addEventListener(kind, (event) => {
      if (source !== state.events) return;
      handler(JSON.parse(event.data));
    });
    on("hello", () => {
      if (state.streamBroken) resync();
      state.streamBroken = false;
      showOffline(false);
    });
    on("message", ({ chat_id: chatId, payload }) => onMessage(chatId, payload));
    on("edit", ({ chat_id: chatId, payload }) => onEdit(chatId, payload));
    on("delete", ({ chat_id: chatId, payload }) => onDelete(chatId, payload));
    on("answer", ({ payload }) => {
      // A press shows its own answer when it returns; this is one that came later.
      const repeated = payload && payload.text === state.lastAnswer.text && Date.now() - state.lastAnswer.at < 5000;
      if (!state.pressing && !repeated) showAnswer(payload);
    });
    on("clock", ({ payload }) => { if (!state.moving) renderClock(payload); });
    on("steps", ({ payload }) => renderSteps(payload));
    source.onerror = () => {
      if (source !== state.events) return;
      state.streamBroken = true;
      showOffline(true);
      // EventSource retries by itself unless the server refused; then try again shortly.
      if (source.readyState === EventSource.CLOSED) setTimeout(() => {
        if (source === state.events) connectEvents();
      }, 2000);
    };
  }

  function showOffline(offline) {
    document.body.classList.toggle("offline", offline);
    if (offline) showToast(t("offline"));
  }

  async function resync() {
    try {
      await Promise.all([loadChats(), loadSteps(), loadClock()]);
      if (state.chat) await openChat(state.chat.id);
    } catch (_) {
      // the stream's next reconnection tries again
    }
  }

  function onMessage(chatId, message) {
    const chat = state.chats.find((c) => c.id === chatId);
    if (!chat) {
      loadChats().catch(() => {});
      return;
    }
    chat.last = message;
    const mine = message.from && message.from.id === state.me.id;
    if (state.chat && state.chat.id === chatId) {
      upsertMessage(message);
      if (!mine) maybeForceReply(message);
      if (!document.hidden) markRead();
      else chat.unread += 1;
    } else if (!mine) {
      chat.unread += 1;
    }
    renderChats();
  }

  function onEdit(chatId, message) {
    const chat = state.chats.find((c) => c.id === chatId);
    if (chat && chat.last && chat.last.message_id === message.message_id) {
      chat.last = message;
      renderChats();
    }
    if (state.chat && state.chat.id === chatId && state.nodes.has(message.message_id)) {
      upsertMessage(message);
    }
  }

  function onDelete(chatId, payload) {
    if (!state.chat || state.chat.id !== chatId) return;
    const entry = state.nodes.get(payload.message_id);
    if (entry) {
      const next = entry.node.nextElementSibling;
      entry.node.remove();
      if (next) refreshDays(next, 1);
      state.nodes.delete(payload.message_id);
    }
  }

  // ---- wiring ----------------------------------------------------------------------------
  function wire() {
    const input = $("input");
    input.addEventListener("keydown", (event) => {
      if (!event.isComposing && menuKey(event)) {
        event.preventDefault();
      } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submit();
      } else if (event.key === "Escape") {
        hideCommands();
        if (state.replyTo) clearReply();
      }
    });
    input.addEventListener("input", () => {
      showError("");
      autosize();
      const value = input.value;
      if (value.startsWith("/") && !/\s/.test(value)) showCommands(value.slice(1));
      else hideCommands();
    });
    $("send-button").addEventListener("click", submit);
    $("command-button").addEventListener("click", () => {
      if ($("command-menu").classList.contains("hidden")) showCommands("");
      else hideCommands();
    });
    $("attach-button").addEventListener("click", () => $("file-input").click());
    $("file-input").addEventListener("change", (event) => {
      const file = event.target.files && event.target.files[0];
      if (file) chooseFile(file);
    });
    $("attach-cancel").addEventListener("click", clearFile);
    $("messages").addEventListener("scroll", updateToBottom, { passive: true });
    $("to-bottom").addEventListener("click", () => {
      $("messages").scrollTo({ top: $("messages").scrollHeight, behavior: "smooth" });
    });
    $("reply-cancel").addEventListener("click", clearReply);
    $("start-button").addEventListener("click", async () => {
      if (await sendText("/start", null)) await reloadPeople();
    });
    $("dialog-ok").addEventListener("click", closeDialog);
    $("dialog").addEventListener("keydown", (event) => {
      if (event.key === "Escape" || event.key === "Enter") {
        event.preventDefault();
        closeDialog();
      }
    });
    for (const button of document.querySelectorAll(".clock-buttons button")) {
      button.addEventListener("click", () => moveClock(button.dataset.step));
    }
    // Older history loads when the top of the list comes into view.
    new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) loadOlder();
    }, { root: $("messages"), rootMargin: "300px 0px 0px 0px" }).observe($("history-sentinel"));
    document.addEventListener("visibilitychange", () => { if (!document.hidden) markRead(); });
  }

  async function start() {
    wire();
    // The person in the address (#as=ID&chat=ID) if any, so a reload stays where it was.
    const wanted = new URLSearchParams(location.hash.slice(1));
    const asked = Number(wanted.get("as")) || null;
    const world = await get("/api/world", { as: asked }).catch(() => get("/api/world", {}));
    state.people = world.people;
    state.bot = world.bot;
    state.limits = world.limits || state.limits;
    const person = personById(asked) || state.people[0];
    state.me = person;
    lang = person.language === "en" ? "en" : "vi";
    applyTexts();
    renderPeople();
    connectEvents();
    // The clock came in the person's language only when the address named them.
    await Promise.all([
      loadChats(), loadSteps(), person.id === asked ? renderClock(world.clock) : loadClock(),
    ]);
    const chat = state.chats.find((c) => c.id === Number(wanted.get("chat"))) || state.chats[0];
    if (chat) await openChat(chat.id);
    document.body.classList.add("ready");
    performance.mark("sandbox-ready"); // how long the first view took, for the benchmark
  }

  start().catch(report);
})();
