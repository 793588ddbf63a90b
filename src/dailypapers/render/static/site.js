/* dailypapers site: lists, searches and filters the papers embedded in the page.
 *
 * Safety rule: a paper's text is only ever written with textContent (or as
 * text nodes), never as markup, and a URL is only used when it is http(s).
 * State lives in the URL hash (#q=...&topic=...&cat=...&from=...&to=...&new=1&sort=score),
 * so a search can be bookmarked and shared; it works from file:// too.
 *
 * The page already lists its papers (rendered by dailypapers, for readers
 * without JavaScript and for search engines, in compact markup: see
 * site.html); this script reads them back from the HTML, builds the search,
 * filter and sort controls and the topic navigation (from the shared topics
 * file), and replaces the list with a searchable, filterable, sortable and
 * paged one of its own cards. On the index it searches every paper of the shared papers
 * file (titles, authors, comments, categories: no abstracts, which each
 * topic's page carries and searches).
 *
 * The search takes `dailypapers search`'s syntax: words (all must occur),
 * "quoted phrases", fields (ti: au: abs: co: jr: cat: id: all:), the
 * uppercase operators AND, OR and ANDNOT (AND binds tighter than OR; terms
 * side by side mean AND) and parentheses. Matching is on folded text
 * (case and accents ignored); cat:cs matches every cs.* category.
 */
(function () {
  "use strict";

  var list = document.getElementById("results");
  if (!list) {
    return;
  }
  // A topic's page lists all its papers in its HTML: the script reads them back
  // from there. The index lists its newest ones; every paper (without its
  // abstract) is in the shared papers file, which only the index loads.
  var scope = list.getAttribute("data-scope") || null;
  var topics = window.DAILYPAPERS_TOPICS || [];
  var listed = Array.prototype.map.call(list.querySelectorAll("li.paper"), fromNode);
  var papers = scope || !window.DAILYPAPERS_PAPERS ? listed : fromShared(listed);
  var topicNames = {};
  topics.forEach(function (topic) {
    topicNames[topic.slug] = topic.name;
  });
  fillNav();
  document.documentElement.className += " js"; /* for the style: the navigation lists topics */

  function text(node, prefix) {
    var content = node ? node.textContent : "";
    return prefix && content.indexOf(prefix) === 0 ? content.slice(prefix.length) : content;
  }

  /* A paper as the page's HTML lists it (compact, see site.html): the title links to
   * arXiv (id and version come from there); the first paragraph after it (and after
   * the TL;DR) holds the date, the badges, the categories (<b>) and the links (PDF
   * first); the authors follow it; the abstract is the card's last paragraph. */
  function fromNode(node) {
    var link = node.querySelector("h2 a");
    var found = /\/abs\/(.+)v(\d+)$/.exec((link && link.getAttribute("href")) || "") || [];
    var score = node.getAttribute("data-score");
    var paragraphs = Array.prototype.filter.call(node.children, function (child) {
      return child.tagName === "P" && child.className !== "tldr";
    });
    var meta = paragraphs[0] || null;
    var last = paragraphs[paragraphs.length - 1];
    var revised = /^revised v\d+ \(first (\d{4}-\d{2}-\d{2})\)$/.exec(
      text(node.querySelector(".revised"))
    );
    var links = meta ? Array.prototype.slice.call(meta.querySelectorAll("a"), 1) : [];
    return {
      id: found[1] || "",
      version: Number(found[2] || 0),
      title: text(link),
      tldr: text(node.querySelector(".tldr"), "TL;DR: "),
      authorText: text(meta ? meta.nextElementSibling : null),
      abstract: paragraphs.length > 2 && !last.className ? last.textContent : "",
      comment: text(node.querySelector(".comment:not(.journal)"), "Comment: "),
      journal_ref: text(node.querySelector(".journal"), "Journal: "),
      categories: Array.prototype.map.call(meta ? meta.querySelectorAll("b") : [], function (b) {
        return b.textContent;
      }),
      updated: (/^\d{4}-\d{2}-\d{2}/.exec(text(meta)) || [""])[0],
      topics: scope ? [scope] : [],
      venue: text(node.querySelector(".venue")),
      revised: Boolean(revised),
      published: revised ? revised[1] : "",
      links: links.map(function (anchor) {
        return { label: anchor.textContent, url: anchor.getAttribute("href") };
      }),
      "new": /\bis-new\b/.test(node.className),
      score: score === null ? null : Number(score),
    };
  }

  /* The index: every paper of the shared file (rows, see site.py), with the abstract
   * of the HTML's card where there is one (shown, not searched: the index matches
   * every paper alike, a topic's page searches its abstracts). */
  function fromShared(nodes) {
    var byId = {};
    nodes.forEach(function (paper) {
      byId[paper.id] = paper;
    });
    var shared = window.DAILYPAPERS_PAPERS;
    return shared.papers.map(function (row) {
      var paper = row[7] || {};
      paper.id = row[0];
      paper.version = row[1];
      paper.title = row[2];
      paper.authorText = row[3];
      paper.categories = row[4].map(function (index) {
        return shared.categories[index];
      });
      paper.updated = new Date(row[5] * 864e5).toISOString().slice(0, 10);
      paper.topics = row[6].map(function (index) {
        return topics[index] ? topics[index].slug : "";
      });
      paper.abstract = "";
      paper.shownAbstract = byId[paper.id] ? byId[paper.id].abstract : "";
      return paper;
    });
  }

  function fillNav() {
    // The pages' HTML names no topic in the navigation: they come from the shared topics
    // file (the index lists them in its HTML, as cards; on a phone the navigation does).
    var nav = document.getElementById("topic-nav");
    if (!nav) {
      return;
    }
    var root = scope ? "../" : "";
    topics.forEach(function (topic) {
      if (!/^[a-z0-9-]+$/.test(topic.slug)) {
        return;
      }
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.setAttribute("href", root + "topics/" + topic.slug + ".html");
      if (topic.slug === scope) {
        link.setAttribute("aria-current", "page");
      }
      link.textContent = topic.name + " ";
      var count = document.createElement("span");
      count.className = "count";
      count.textContent = String(topic.count);
      link.appendChild(count);
      item.appendChild(link);
      nav.appendChild(item);
    });
  }

  var form = buildControls();
  var fields = {
    q: document.getElementById("q"),
    topic: document.getElementById("topic"),
    cat: document.getElementById("cat"),
    from: document.getElementById("from"),
    to: document.getElementById("to"),
    fresh: document.getElementById("new"),
    sort: document.getElementById("sort"),
  };
  var countLine = document.getElementById("count");
  var more = document.getElementById("more");
  var pageSize = 50;
  var current = [];
  var shown = 0;
  var terms = [];
  var onlyId = "";
  var timer = null;

  function fold(text) {
    return String(text || "")
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase();
  }

  papers.forEach(function (paper, index) {
    paper._order = index;
    paper._title = fold(paper.title);
    paper._authors = fold(paper.authorText);
    paper._abstract = fold(paper.abstract);
    paper._comment = fold(paper.comment);
    paper._journal = fold(paper.journal_ref);
    paper._text = [paper._title, paper._abstract, paper._authors, paper._comment, paper._journal]
      .concat(paper.categories.map(fold))
      .join("\n");
  });

  function arxivUrl(kind, paper) {
    return "https://arxiv.org/" + kind + "/" + paper.id + "v" + paper.version;
  }

  function safeUrl(url) {
    return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    return node;
  }

  function anchor(url, text) {
    var node = element("a", null, text);
    var safe = safeUrl(url);
    if (safe) {
      node.href = safe;
      node.rel = "noopener noreferrer";
    }
    return node;
  }

  /* The search, filter and sort controls (they only work with this script), the
   * count line and the "Show more" button. */
  function buildControls() {
    var controls = element("form", "controls");
    controls.id = "controls";
    controls.setAttribute("role", "search");
    controls.setAttribute("autocomplete", "off");
    var search = element("label", "search");
    search.appendChild(element("span", "visually-hidden", "Search"));
    var query = input("search", "q");
    query.placeholder = 'Search: words, "a phrase", ti: au: cat:, AND OR ANDNOT';
    query.setAttribute("aria-describedby", "count");
    search.appendChild(query);
    controls.appendChild(search);
    if (!scope) {
      controls.appendChild(labelled("Topic", select("topic", [["", "All topics"]])));
    }
    controls.appendChild(labelled("Category", select("cat", [["", "All categories"]])));
    controls.appendChild(labelled("From", input("date", "from")));
    controls.appendChild(labelled("To", input("date", "to")));
    if (list.hasAttribute("data-sort")) {
      var options = [["", "Newest first"], ["score", "Relevance (your library)"]];
      controls.appendChild(labelled("Sort", select("sort", options)));
    }
    var check = element("label", "check");
    var fresh = input("checkbox", "new");
    fresh.value = "1";
    check.appendChild(fresh);
    check.appendChild(document.createTextNode(" "));
    var count = papers.filter(function (paper) {
      return paper["new"];
    }).length;
    check.appendChild(element("span", null, "New only (" + count + ")"));
    controls.appendChild(check);
    var clear = element("button", null, "Clear");
    clear.type = "reset";
    clear.id = "clear";
    controls.appendChild(clear);
    if (!scope) {
      var hint =
        "Here the search covers every topic's titles, authors, comments and categories; " +
        "a topic's page searches its abstracts too.";
      controls.appendChild(element("p", "hint", hint));
    }
    var line = element("p", "count-line");
    line.id = "count";
    line.setAttribute("aria-live", "polite");
    list.parentNode.insertBefore(controls, list);
    list.parentNode.insertBefore(line, list);
    var button = element("button", null, "Show more");
    button.type = "button";
    button.id = "more";
    button.hidden = true;
    var holder = element("p");
    holder.appendChild(button);
    list.parentNode.insertBefore(holder, list.nextSibling);
    return controls;
  }

  function input(type, id) {
    var node = element("input");
    node.type = type;
    node.id = id;
    node.name = id;
    return node;
  }

  function select(id, options) {
    var node = element("select");
    node.id = id;
    node.name = id;
    options.forEach(function (option) {
      node.appendChild(new Option(option[1], option[0]));
    });
    return node;
  }

  function labelled(name, field) {
    var label = element("label");
    label.appendChild(element("span", null, name));
    label.appendChild(document.createTextNode(" "));
    label.appendChild(field);
    return label;
  }

  /* Append `text` to `parent` as text nodes, with the search terms in <mark>. */
  function highlight(parent, text) {
    var folded = fold(text);
    if (!terms.length || folded.length !== text.length) {
      parent.appendChild(document.createTextNode(text));
      return;
    }
    var marks = [];
    terms.forEach(function (term) {
      var at = folded.indexOf(term);
      while (at !== -1) {
        marks.push([at, at + term.length]);
        at = folded.indexOf(term, at + term.length);
      }
    });
    marks.sort(function (a, b) {
      return a[0] - b[0];
    });
    var position = 0;
    marks.forEach(function (mark) {
      if (mark[0] < position) {
        return;
      }
      parent.appendChild(document.createTextNode(text.slice(position, mark[0])));
      parent.appendChild(element("mark", null, text.slice(mark[0], mark[1])));
      position = mark[1];
    });
    parent.appendChild(document.createTextNode(text.slice(position)));
  }

  /* A paper's card, from what the page's HTML or the shared papers file gave. */
  function card(paper) {
    var item = element("li", "paper");
    item.id = "paper-" + paper.id;
    var heading = element("h2");
    var title = anchor(arxivUrl("abs", paper));
    highlight(title, paper.title);
    heading.appendChild(title);
    item.appendChild(heading);
    if (paper.tldr) {
      item.appendChild(element("p", "tldr", "TL;DR: " + paper.tldr));
    }
    item.appendChild(meta(paper, item));
    var authors = element("p", "authors");
    highlight(authors, paper.authorText);
    item.appendChild(authors);
    if (paper.comment) {
      item.appendChild(element("p", "comment", "Comment: " + paper.comment));
    }
    if (paper.journal_ref) {
      item.appendChild(element("p", "comment journal", "Journal: " + paper.journal_ref));
    }
    var folded = abstract(paper);
    if (folded) {
      item.appendChild(folded);
    }
    var links = element("p", "links");
    links.appendChild(anchor(arxivUrl("abs", paper), "arXiv"));
    links.appendChild(anchor(arxivUrl("pdf", paper), "PDF"));
    (paper.links || []).forEach(function (found) {
      if (safeUrl(found.url)) {
        links.appendChild(anchor(found.url, found.label));
      }
    });
    item.appendChild(links);
    return item;
  }

  /* The abstract, folded; on the index past its first page, a link to it instead. */
  function abstract(paper) {
    var shown = paper.shownAbstract || paper.abstract;
    if (shown) {
      var details = element("details");
      details.appendChild(element("summary", null, "Abstract"));
      var body = element("p");
      highlight(body, shown);
      details.appendChild(body);
      return details;
    }
    var home = paper.topics.filter(function (slug) {
      return /^[a-z0-9-]+$/.test(slug);
    })[0];
    if (!home || scope) {
      return null; /* a topic page shows every abstract: this paper has none */
    }
    var more = element("p", "abstract-link");
    var link = element("a", null, "Abstract on its topic's page");
    link.setAttribute("href", "topics/" + home + ".html#id=" + encodeURIComponent(paper.id));
    more.appendChild(link);
    return more;
  }

  function meta(paper, item) {
    var line = element("p", "meta");
    line.appendChild(element("time", null, paper.updated));
    line.appendChild(document.createTextNode(" "));
    if (paper["new"]) {
      item.className += " is-new";
      line.appendChild(element("span", "badge new", "new"));
    }
    if (typeof paper.score === "number") {
      line.appendChild(element("span", "badge score", "score " + paper.score));
    }
    if (paper.revised) {
      var revised = "revised v" + paper.version + " (first " + paper.published + ")";
      line.appendChild(element("span", "badge revised", revised));
    }
    if (paper.venue) {
      line.appendChild(element("span", "badge venue", paper.venue));
    }
    if (!scope) {
      paper.topics.forEach(function (slug) {
        line.appendChild(element("span", "badge topic", topicNames[slug] || slug));
      });
    }
    paper.categories.forEach(function (category) {
      line.appendChild(element("b", null, category));
    });
    return line;
  }

  /* --- the search language (as `dailypapers search`) --- */

  var FIELDS = {
    ti: "_title",
    au: "_authors",
    abs: "_abstract",
    co: "_comment",
    jr: "_journal",
    all: "_text",
  };
  var OPERATORS = { AND: true, OR: true, ANDNOT: true };
  var TOKEN = /\s*(?:(\()|(\))|(?:([A-Za-z]+):)?(?:"([^"]*)"?|([^\s()"]+)))/g;

  function isField(name) {
    return Object.prototype.hasOwnProperty.call(FIELDS, name) || name === "cat" || name === "id";
  }

  /* The words read of a query: its tree is walked recursively, and a pasted page of
     text (thousands of words) would overflow the stack and stop the search. */
  var MAX_TOKENS = 500;

  function tokenize(query) {
    var tokens = [];
    TOKEN.lastIndex = 0;
    var match = TOKEN.exec(query);
    while (match && match[0] && tokens.length < MAX_TOKENS) {
      if (match[1] || match[2]) {
        tokens.push({ type: match[1] ? "(" : ")" });
      } else {
        var field = match[3] && isField(match[3].toLowerCase()) ? match[3].toLowerCase() : "all";
        var raw = match[4] !== undefined ? match[4] : match[5];
        if (match[3] && field === "all" && match[3].toLowerCase() !== "all") {
          raw = match[3] + ":" + raw; /* not a field: search the text as written */
        }
        /* own keys only: "constructor" is a word, not Object.prototype's */
        var operator = Object.prototype.hasOwnProperty.call(OPERATORS, raw);
        if (match[4] === undefined && !match[3] && operator) {
          tokens.push({ type: "op", op: raw });
        } else if (fold(raw).trim()) {
          tokens.push({ type: "term", field: field, text: fold(raw).trim() });
        }
      }
      match = TOKEN.exec(query);
    }
    return tokens;
  }

  /* The syntax tree of `query`, or null for an empty one; throws on bad syntax. */
  function parseQuery(query) {
    var tokens = tokenize(query);
    var at = 0;
    function peek() {
      return tokens[at];
    }
    function primary() {
      var token = tokens[at++];
      if (!token || token.type === ")" || token.type === "op") {
        throw new Error("expected a term");
      }
      if (token.type === "term") {
        return token;
      }
      var node = anyOf();
      if (!peek() || peek().type !== ")") {
        throw new Error("unbalanced parenthesis");
      }
      at++;
      return node;
    }
    function allOf() {
      var node = primary();
      while (peek() && peek().type !== ")" && peek().op !== "OR") {
        var op = peek().type === "op" ? tokens[at++].op : "AND";
        var right = primary();
        node = op === "ANDNOT" ? { and: [node, { not: right }] } : { and: [node, right] };
      }
      return node;
    }
    function anyOf() {
      var node = allOf();
      while (peek() && peek().op === "OR") {
        at++;
        node = { or: [node, allOf()] };
      }
      return node;
    }
    if (!tokens.length) {
      return null;
    }
    var tree = anyOf();
    if (at < tokens.length) {
      throw new Error("unbalanced parenthesis");
    }
    return tree;
  }

  /* Plain words when the syntax is broken: typing "(reward" still finds something. */
  function readQuery(query) {
    try {
      return parseQuery(query);
    } catch (error) {
      try {
        return parseQuery(query.replace(/[()"]/g, " ").replace(/\b(AND|OR|ANDNOT)\b/g, " "));
      } catch (again) {
        return null; /* no search rather than a page without its list */
      }
    }
  }

  function termMatches(term, paper) {
    if (term.field === "cat") {
      return paper.categories.some(function (category) {
        var folded = fold(category);
        return folded === term.text || folded.indexOf(term.text + ".") === 0;
      });
    }
    if (term.field === "id") {
      return paper.id === term.text || paper.id + "v" + paper.version === term.text;
    }
    return paper[FIELDS[term.field]].indexOf(term.text) !== -1;
  }

  function matches(node, paper) {
    if (node.and) {
      return matches(node.and[0], paper) && matches(node.and[1], paper);
    }
    if (node.or) {
      return matches(node.or[0], paper) || matches(node.or[1], paper);
    }
    if (node.not) {
      return !matches(node.not, paper);
    }
    return termMatches(node, paper);
  }

  /* The terms that count for a match (not under ANDNOT), for ranking and marks. */
  function positive(node, found) {
    if (!node) {
      return found;
    }
    if (node.and || node.or) {
      (node.and || node.or).forEach(function (child) {
        positive(child, found);
      });
    } else if (!node.not) {
      found.push(node);
    }
    return found;
  }

  var tree = null;
  var counted = [];

  function score(paper) {
    if (tree && !matches(tree, paper)) {
      return -1;
    }
    var total = 0;
    counted.forEach(function (term) {
      if (termMatches(term, paper)) {
        total += 1;
        if (paper._title.indexOf(term.text) !== -1) {
          total += 4;
        }
        if (paper._authors.indexOf(term.text) !== -1) {
          total += 2;
        }
      }
    });
    return total;
  }

  function value(field) {
    return field ? field.value : "";
  }

  /* The library's score (the "Relevance" sort); unranked papers go last. */
  function rank(paper) {
    return typeof paper.score === "number" ? paper.score : -1e9;
  }

  function filtered() {
    var topic = value(fields.topic);
    var category = value(fields.cat);
    var from = value(fields.from);
    var to = value(fields.to);
    var onlyNew = fields.fresh && fields.fresh.checked;
    var found = [];
    papers.forEach(function (paper) {
      if (onlyId && paper.id !== onlyId) {
        return;
      }
      if (topic && paper.topics.indexOf(topic) === -1) {
        return;
      }
      if (category && paper.categories.indexOf(category) === -1) {
        return;
      }
      if ((from && paper.updated < from) || (to && paper.updated > to)) {
        return;
      }
      if (onlyNew && !paper["new"]) {
        return;
      }
      var points = score(paper);
      if (points >= 0) {
        found.push([points, paper]);
      }
    });
    var byScore = value(fields.sort) === "score";
    found.sort(function (a, b) {
      var first = byScore ? rank(b[1]) - rank(a[1]) : 0;
      return first || b[0] - a[0] || a[1]._order - b[1]._order;
    });
    return found.map(function (pair) {
      return pair[1];
    });
  }

  function showMore() {
    var end = Math.min(current.length, shown + pageSize);
    var fragment = document.createDocumentFragment();
    for (var i = shown; i < end; i++) {
      fragment.appendChild(card(current[i]));
    }
    list.appendChild(fragment);
    shown = end;
    more.hidden = shown >= current.length;
  }

  function describe() {
    var total = papers.length;
    var noun = total === 1 ? " paper" : " papers";
    if (current.length === total) {
      return total + noun;
    }
    if (!current.length) {
      return "No paper matches (of " + total + ").";
    }
    return current.length + " of " + total + noun;
  }

  function stateHash() {
    var params = new URLSearchParams();
    ["q", "topic", "cat", "from", "to", "sort"].forEach(function (name) {
      var text = value(fields[name]).trim();
      if (text) {
        params.set(name, text);
      }
    });
    if (fields.fresh && fields.fresh.checked) {
      params.set("new", "1");
    }
    if (onlyId) {
      params.set("id", onlyId);
    }
    var text = params.toString();
    return text ? "#" + text : "";
  }

  function apply(remember) {
    tree = readQuery(value(fields.q));
    counted = positive(tree, []).filter(function (term) {
      return term.field !== "cat" && term.field !== "id";
    });
    terms = counted.map(function (term) {
      return term.text;
    });
    current = filtered();
    shown = 0;
    list.replaceChildren();
    showMore();
    countLine.textContent = describe();
    if (remember) {
      var hash = stateHash();
      if (hash !== location.hash && !(hash === "" && location.hash === "#")) {
        location.replace(hash || "#");
      }
    }
  }

  function setSelect(select, wanted) {
    if (!select) {
      return;
    }
    var known = Array.prototype.some.call(select.options, function (option) {
      return option.value === wanted;
    });
    select.value = known ? wanted : "";
  }

  function readHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    if (fields.q) {
      fields.q.value = params.get("q") || "";
    }
    setSelect(fields.topic, params.get("topic") || "");
    setSelect(fields.cat, params.get("cat") || "");
    setSelect(fields.sort, params.get("sort") || "");
    ["from", "to"].forEach(function (name) {
      var text = params.get(name) || "";
      if (fields[name]) {
        fields[name].value = /^\d{4}-\d{2}-\d{2}$/.test(text) ? text : "";
      }
    });
    if (fields.fresh) {
      fields.fresh.checked = params.get("new") === "1";
    }
    onlyId = params.get("id") || "";
  }

  function fillOptions() {
    if (fields.topic) {
      topics.forEach(function (topic) {
        fields.topic.appendChild(new Option(topic.name + " (" + topic.count + ")", topic.slug));
      });
    }
    var counts = Object.create(null); /* a category "constructor" or "__proto__" is a key */
    papers.forEach(function (paper) {
      paper.categories.forEach(function (category) {
        counts[category] = (counts[category] || 0) + 1;
      });
    });
    Object.keys(counts)
      .sort(function (a, b) {
        return counts[b] - counts[a] || (a < b ? -1 : 1);
      })
      .forEach(function (category) {
        fields.cat.appendChild(new Option(category + " (" + counts[category] + ")", category));
      });
    var dates = papers.map(function (paper) {
      return paper.updated;
    });
    if (dates.length) {
      var first = dates.reduce(function (a, b) {
        return a < b ? a : b;
      });
      var last = dates.reduce(function (a, b) {
        return a > b ? a : b;
      });
      [fields.from, fields.to].forEach(function (field) {
        field.min = first;
        field.max = last;
      });
    }
  }

  fillOptions();
  readHash();
  apply(false);

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    apply(true);
  });
  form.addEventListener("reset", function () {
    onlyId = "";
    window.setTimeout(function () {
      apply(true);
    }, 0);
  });
  fields.q.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      onlyId = "";
      apply(true);
    }, 120);
  });
  [fields.topic, fields.cat, fields.from, fields.to, fields.fresh, fields.sort].forEach(function (
    field
  ) {
    if (field) {
      field.addEventListener("change", function () {
        apply(true);
      });
    }
  });
  more.addEventListener("click", showMore);
  window.addEventListener("hashchange", function () {
    if (location.hash.replace(/^#$/, "") !== stateHash()) {
      readHash();
      apply(false);
    }
  });
})();
