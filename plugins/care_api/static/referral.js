/*
 * The hospital referral page: token check, the referral list and the referral form.
 *
 * - The API token lives in sessionStorage only (never a cookie, never a URL) and is
 *   sent as "Authorization: Bearer"; fetches omit cookies.
 * - Every URL is relative to where the app is mounted, found from location.pathname,
 *   so the page works at /web/... and under a prefix such as /care/web/...
 * - Data from the server or the user is written with textContent only.
 * - The Bundle is the one care_models.synthetic.referrals.build_bundle builds.
 */
(function () {
  'use strict';

  var TOKEN_KEY = 'care.web.token';
  var HOSPITAL_KEY = 'care.web.hospital';
  var FHIR_JSON = 'application/fhir+json';
  var NEED_SYSTEM = 'urn:care:referral-need';
  var ADL_SYSTEM = 'urn:care:adl';
  var ADL_CODE = 'adl-difficulties';
  var RRN_SYSTEM = 'urn:care:kr:rrn';
  var LOINC = 'http://loinc.org';
  var LIVING_SITUATION = '63512-8';
  var ICD10 = 'http://hl7.org/fhir/sid/icd-10';
  var ADL_ACTIVITIES = ['eating', 'toileting', 'dressing', 'bathing', 'walking'];

  var labels = JSON.parse(document.getElementById('labels').textContent);

  function $(id) { return document.getElementById(id); }

  function show(element, visible) {
    if (element) { element.hidden = !visible; }
  }

  /* ---- where the API is ------------------------------------------------------------ */

  function apiBase() {
    var path = location.pathname;
    var at = path.lastIndexOf('/web/');
    return at >= 0 ? path.slice(0, at + 1) : './';
  }

  function identifierSystem(hospitalCode) {
    return 'urn:care:hospital:' + hospitalCode.toLowerCase() + ':referral';
  }

  /* ---- the session: token and hospital code, this tab only --------------------------- */

  function currentSession() {
    var token = sessionStorage.getItem(TOKEN_KEY);
    var hospital = sessionStorage.getItem(HOSPITAL_KEY);
    return token && hospital ? { token: token, hospital: hospital } : null;
  }

  function saveSession(token, hospital) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(HOSPITAL_KEY, hospital);
  }

  function clearSession() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(HOSPITAL_KEY);
  }

  /* ---- talking to the API ------------------------------------------------------------- */

  function ApiFailure(message, status) {
    this.message = message;
    this.status = status;
  }

  async function api(path, token, options) {
    options = options || {};
    var headers = { Accept: FHIR_JSON, Authorization: 'Bearer ' + token };
    if (options.body) { headers['Content-Type'] = FHIR_JSON; }
    var response;
    try {
      response = await fetch(apiBase() + path, {
        method: options.method || 'GET',
        headers: headers,
        body: options.body,
        credentials: 'omit',
        cache: 'no-store',
        redirect: 'error',
        referrerPolicy: 'no-referrer'
      });
    } catch (error) {
      throw new ApiFailure('서버에 연결할 수 없습니다. 네트워크 연결을 확인한 뒤 다시 시도해 주세요.', 0);
    }
    var body = null;
    try { body = await response.json(); } catch (error) { body = null; }
    return { status: response.status, body: body };
  }

  function failureMessage(result) {
    if (result.status === 401) {
      return 'API 토큰이 올바르지 않습니다. 군청에서 발급받은 병원 토큰을 다시 확인해 주세요.';
    }
    if (result.status === 429) {
      return '요청이 너무 많습니다. 1분쯤 뒤에 다시 시도해 주세요.';
    }
    if (result.status === 413) {
      return '보내는 내용이 너무 큽니다.';
    }
    if (result.status >= 500) {
      return '서버에서 오류가 났습니다 (HTTP ' + result.status + '). 잠시 뒤 다시 시도해 주세요.';
    }
    return '요청을 처리하지 못했습니다 (HTTP ' + result.status + ').';
  }

  /* ---- login ------------------------------------------------------------------------- */

  // Check the token with a one-row Task search; when the hospital already has a
  // referral, its identifier system also tells whether the hospital code matches.
  async function verify(token, hospital) {
    var result = await api('fhir/Task?_count=1', token);
    if (result.status !== 200 || !result.body) {
      throw new ApiFailure(failureMessage(result), result.status);
    }
    var entries = result.body.entry || [];
    var task = entries.length ? entries[0].resource || {} : {};
    var system = ((task.identifier || [])[0] || {}).system;
    var match = /^urn:care:hospital:(.+):referral$/.exec(system || '');
    if (match && match[1] !== hospital.toLowerCase()) {
      throw new ApiFailure(
        '병원 코드가 이 토큰의 병원과 맞지 않습니다. 병원 코드를 확인해 주세요.', 'hospital');
    }
  }

  function showLogin(message) {
    show($('app'), false);
    show($('session-bar'), false);
    show($('login'), true);
    var error = $('login-error');
    error.textContent = message || '';
    show(error, Boolean(message));
    var token = $('login-token');
    token.value = '';
    token.setAttribute('aria-invalid', message ? 'true' : 'false');
    if (!$('login-hospital').value) {
      $('login-hospital').value = sessionStorage.getItem(HOSPITAL_KEY) || '';
    }
    token.focus();
  }

  function showApp(session) {
    show($('login'), false);
    show($('login-error'), false);
    $('session-hospital').textContent = session.hospital;
    show($('session-bar'), true);
    show($('app'), true);
    if (document.body.dataset.page === 'list') { loadList(); }
  }

  function logout() {
    clearSession();
    var form = $('referral-form');
    if (form) { form.reset(); clearErrors(); show($('result'), false); }
    var tbody = document.querySelector('#referrals tbody');
    if (tbody) { tbody.replaceChildren(); }
    $('login-hospital').value = '';
    showLogin('');
  }

  async function onLogin(event) {
    event.preventDefault();
    var token = $('login-token').value.trim();
    var hospital = $('login-hospital').value.trim().toUpperCase();
    if (!token || !hospital) {
      showLogin('API 토큰과 병원 코드를 모두 입력해 주세요.');
      return;
    }
    var button = $('login-submit');
    button.disabled = true;
    try {
      await verify(token, hospital);
    } catch (failure) {
      button.disabled = false;
      clearSession();
      showLogin(failure.message || String(failure));
      return;
    }
    button.disabled = false;
    saveSession(token, hospital);
    $('login-token').value = '';
    showApp(currentSession());
  }

  async function start() {
    $('login-form').addEventListener('submit', onLogin);
    $('logout').addEventListener('click', logout);
    if ($('referral-form')) { $('referral-form').addEventListener('submit', onSubmit); }
    if ($('search-form')) {
      $('search-form').addEventListener('submit', function (event) {
        event.preventDefault();
        loadList();
      });
      $('refresh').addEventListener('click', function () { loadList(); });
      $('print').addEventListener('click', function () { window.print(); });
    }
    var session = currentSession();
    if (!session) { showLogin(''); return; }
    try {
      await verify(session.token, session.hospital);
    } catch (failure) {
      if (failure.status === 401 || failure.status === 'hospital') { clearSession(); }
      showLogin(failure.message || String(failure));
      return;
    }
    showApp(session);
  }

  /* ---- the list ------------------------------------------------------------------------ */

  function formatInstant(value) {
    if (!value) { return '—'; }
    var date = new Date(value);
    if (isNaN(date.getTime())) { return value; }
    try {
      return new Intl.DateTimeFormat('ko-KR', {
        timeZone: 'Asia/Seoul', year: 'numeric', month: '2-digit', day: '2-digit',
        hour: '2-digit', minute: '2-digit', hour12: false
      }).format(date);
    } catch (error) {
      return date.toISOString();
    }
  }

  function statusLabel(status) {
    return labels.status[status] || status || '—';
  }

  function cell(row, label, content) {
    var td = document.createElement('td');
    td.dataset.label = label;
    if (typeof content === 'string') { td.textContent = content; } else { td.appendChild(content); }
    row.appendChild(td);
    return td;
  }

  function statusBadge(status) {
    var badge = document.createElement('span');
    badge.className = 'status status-' + String(status || '').replace(/[^a-z-]/g, '');
    badge.textContent = statusLabel(status);
    return badge;
  }

  async function loadList() {
    var session = currentSession();
    if (!session) { showLogin(''); return; }
    var statusLine = $('list-status');
    var tbody = document.querySelector('#referrals tbody');
    var query = 'fhir/Task?_count=500';
    var number = $('search-number').value.trim();
    if (number) { query += '&identifier=' + encodeURIComponent(number); }
    statusLine.textContent = '불러오는 중…';
    var result;
    try {
      result = await api(query, session.token);
    } catch (failure) {
      statusLine.textContent = failure.message;
      return;
    }
    if (result.status === 401) { clearSession(); showLogin(failureMessage(result)); return; }
    if (result.status !== 200 || !result.body) {
      statusLine.textContent = failureMessage(result);
      return;
    }
    var entries = result.body.entry || [];
    tbody.replaceChildren();
    entries.forEach(function (entry) {
      var task = entry.resource || {};
      var identifier = ((task.identifier || [])[0] || {}).value || '';
      var row = document.createElement('tr');
      row.dataset.identifier = identifier;
      row.dataset.status = task.status || '';
      cell(row, '의뢰번호', identifier || '—');
      cell(row, '상태', statusBadge(task.status));
      var reasons = [
        (task.statusReason || {}).text,
        (task.businessStatus || {}).text
      ].filter(Boolean);
      cell(row, '사유', reasons.length ? reasons.join(' · ') : '—');
      var updated = (task.meta || {}).lastUpdated || task.lastModified;
      var time = document.createElement('time');
      if (updated) { time.dateTime = updated; }
      time.textContent = formatInstant(updated);
      cell(row, '최종 변경', time);
      tbody.appendChild(row);
    });
    show($('referrals'), entries.length > 0);
    show($('list-empty'), entries.length === 0);
    $('list-empty').textContent = number
      ? '의뢰번호 ' + number + '에 해당하는 의뢰가 없습니다.'
      : '아직 보낸 의뢰가 없습니다.';
    statusLine.textContent = entries.length
      ? '의뢰 ' + entries.length + '건 (' + formatInstant(new Date().toISOString()) + ' 기준)'
      : '';
  }

  /* ---- the form: values -> Bundle ------------------------------------------------------- */

  function uuid() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join('');
    return 'urn:uuid:' + hex.slice(0, 8) + '-' + hex.slice(8, 12) + '-' + hex.slice(12, 16) +
      '-' + hex.slice(16, 20) + '-' + hex.slice(20);
  }

  function todayInSeoul() {
    try {
      return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Seoul' }).format(new Date());
    } catch (error) {
      return new Date().toISOString().slice(0, 10);
    }
  }

  function readForm(form) {
    var data = new FormData(form);
    function text(name) { return String(data.get(name) || '').trim(); }
    var household = text('household_size');
    return {
      name: text('name'),
      sex: text('sex'),
      birthDate: text('birth_date'),
      rrn: text('rrn'),
      phone: text('phone'),
      address: text('address'),
      admission: text('admission'),
      discharge: text('discharge'),
      discharged: data.get('discharged') !== null,
      diagnosis: text('diagnosis').toUpperCase(),
      needs: data.getAll('need').map(String),
      adl: data.getAll('adl').map(String),
      householdSize: household === '' ? null : Number(household),
      number: text('number')
    };
  }

  // Returns the Bundle and, for each entry index, what the entry is (to place errors).
  function buildBundle(values, hospitalCode) {
    var system = identifierSystem(hospitalCode);
    var ids = {};
    ['Patient', 'Encounter', 'Condition', 'ServiceRequest', 'Observation', 'Living', 'Task']
      .forEach(function (key) { ids[key] = uuid(); });
    function ref(key) { return { reference: ids[key] }; }
    var letters = Array.from(values.name);
    var patient = {
      resourceType: 'Patient',
      name: [{ text: values.name, family: letters[0] || '', given: [letters.slice(1).join('')] }],
      gender: values.sex,
      birthDate: values.birthDate,
      address: [{ text: values.address, country: 'KR' }]
    };
    if (values.rrn) { patient.identifier = [{ system: RRN_SYSTEM, value: values.rrn }]; }
    if (values.phone) { patient.telecom = [{ system: 'phone', value: values.phone }]; }
    var resources = [['Patient', patient], ['Encounter', {
      resourceType: 'Encounter',
      status: values.discharged ? 'finished' : 'in-progress',
      'class': { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
      subject: ref('Patient'),
      period: { start: values.admission, end: values.discharge }
    }], ['Condition', {
      resourceType: 'Condition',
      subject: ref('Patient'),
      clinicalStatus: { coding: [{
        system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active'
      }] },
      code: { coding: [{ system: ICD10, code: values.diagnosis }] }
    }], ['ServiceRequest', {
      resourceType: 'ServiceRequest',
      status: 'active',
      intent: 'order',
      identifier: [{ system: system, value: values.number }],
      category: values.needs.map(function (need) {
        return { coding: [{ system: NEED_SYSTEM, code: need }] };
      }),
      code: { text: '퇴원환자 지역사회 연계의뢰' },
      subject: ref('Patient'),
      encounter: ref('Encounter'),
      authoredOn: todayInSeoul()
    }], ['Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: ADL_SYSTEM, code: ADL_CODE }] },
      subject: ref('Patient'),
      component: ADL_ACTIVITIES.map(function (activity) {
        return {
          code: { coding: [{ system: ADL_SYSTEM, code: activity }] },
          valueBoolean: values.adl.indexOf(activity) >= 0
        };
      })
    }]];
    if (values.householdSize !== null) {
      resources.push(['Living', {
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: LOINC, code: LIVING_SITUATION }] },
        subject: ref('Patient'),
        valueInteger: values.householdSize
      }]);
    }
    resources.push(['Task', {
      resourceType: 'Task',
      status: 'requested',
      intent: 'order',
      identifier: [{ system: system, value: values.number }],
      focus: ref('ServiceRequest'),
      'for': ref('Patient'),
      description: '퇴원 후 지역사회 통합돌봄 연계 요청'
    }]);
    var entries = resources.map(function (pair) {
      var resource = pair[1];
      var request = { method: 'POST', url: resource.resourceType };
      if (resource.resourceType === 'ServiceRequest') {
        request.ifNoneExist = 'identifier=' + system + '|' + values.number;
      }
      return { fullUrl: ids[pair[0]], resource: resource, request: request };
    });
    return {
      bundle: { resourceType: 'Bundle', type: 'transaction', entry: entries },
      kinds: resources.map(function (pair) { return pair[0]; })
    };
  }

  /* ---- the form: OperationOutcome -> fields ----------------------------------------------- */

  // Which form field an element of each entry comes from (longest prefix first).
  var FIELD_PATHS = {
    Patient: [['name', 'name'], ['gender', 'sex'], ['birthDate', 'birth_date'],
      ['address', 'address'], ['telecom', 'phone'], ['identifier', 'rrn']],
    Encounter: [['period.start', 'admission'], ['period.end', 'discharge'],
      ['period', 'discharge'], ['status', 'discharged']],
    Condition: [['code', 'diagnosis']],
    ServiceRequest: [['identifier', 'number'], ['category', 'needs']],
    Observation: [['component', 'adl']],
    Living: [['value', 'household_size']],
    Task: [['identifier', 'number']]
  };

  function fieldFor(expression, kinds) {
    var match = /^Bundle\.entry(?:\[(\d+)\]|\.(\d+))\.resource(?:\.(.*))?$/.exec(expression || '');
    if (!match) {
      return /ofType\(Condition\)/.test(expression || '') ? 'diagnosis' : null;
    }
    var kind = kinds[Number(match[1] !== undefined ? match[1] : match[2])];
    var rest = match[3] || '';
    var paths = FIELD_PATHS[kind] || [];
    for (var i = 0; i < paths.length; i += 1) {
      var prefix = paths[i][0];
      if (rest === prefix || rest.indexOf(prefix + '.') === 0 || rest.indexOf(prefix + '[') === 0) {
        return paths[i][1];
      }
    }
    return null;
  }

  // The server's rules in Korean; the original rule is shown too.
  var RULES = [
    [/^discharge must not be before admission/, function () {
      return '퇴원(예정)일은 입원일보다 빠를 수 없습니다.';
    }],
    [/^discharge must be at most (\d+) days ahead/, function (m) {
      return '퇴원 예정일은 오늘부터 ' + m[1] + '일 이내여야 합니다.';
    }],
    [/^admission must not be in the future/, function () { return '입원일은 오늘 이후일 수 없습니다.'; }],
    [/^the admission date is required/, function () { return '입원일을 입력해 주세요.'; }],
    [/^the planned or actual discharge date is required/, function () {
      return '퇴원(예정)일을 입력해 주세요.';
    }],
    [/^birthDate must be in the past/, function () { return '생년월일은 오늘보다 앞선 날짜여야 합니다.'; }],
    [/^birthDate is required/, function () { return '생년월일을 입력해 주세요.'; }],
    [/^a name is required/, function () { return '환자 이름을 입력해 주세요.'; }],
    [/^an address is required/, function () { return '주소를 입력해 주세요 (방문 상담에 필요합니다).'; }],
    [/^identifier system must be the submitting hospital's/, function () {
      return '의뢰번호의 병원이 토큰의 병원과 다릅니다. 입력한 병원 코드를 확인해 주세요.';
    }],
    [/^the hospital's referral identifier/, function () { return '의뢰번호를 입력해 주세요.'; }],
    [/is not a known need/, function () { return '알 수 없는 필요 서비스입니다.'; }],
    [/is not a valid code/, function () { return '허용되지 않는 값입니다.'; }],
    [/^is required$/, function () { return '꼭 입력해야 합니다.'; }],
    [/does not match spec regex|Invalid|invalid/, function () { return '형식이 올바르지 않습니다.'; }]
  ];

  function koreanRule(diagnostics) {
    for (var i = 0; i < RULES.length; i += 1) {
      var match = RULES[i][0].exec(diagnostics || '');
      if (match) { return RULES[i][1](match); }
    }
    return null;
  }

  function clearErrors() {
    document.querySelectorAll('#referral-form .field-error').forEach(function (element) {
      element.replaceChildren();
      element.hidden = true;
    });
    document.querySelectorAll('#referral-form .invalid').forEach(function (element) {
      element.classList.remove('invalid');
    });
    document.querySelectorAll('#referral-form [aria-invalid]').forEach(function (element) {
      element.removeAttribute('aria-invalid');
    });
    var summary = $('form-errors');
    summary.querySelector('ul').replaceChildren();
    summary.hidden = true;
  }

  function showFieldError(field, korean, original) {
    var element = $('error-' + field);
    if (!element) { return false; }
    var line = document.createElement('span');
    line.textContent = korean || original;
    if (element.childNodes.length) { element.appendChild(document.createElement('br')); }
    element.appendChild(line);
    if (korean && original) {
      var rule = document.createElement('small');
      rule.className = 'rule';
      rule.textContent = '규칙: ' + original;
      element.appendChild(rule);
    }
    element.hidden = false;
    var wrapper = element.closest('.field');
    if (wrapper) {
      wrapper.classList.add('invalid');
      wrapper.querySelectorAll('input, select').forEach(function (input) {
        input.setAttribute('aria-invalid', 'true');
      });
    }
    return true;
  }

  function showIssues(issues, kinds, hospital) {
    var summary = $('form-errors');
    var list = summary.querySelector('ul');
    var firstField = null;
    issues.forEach(function (issue) {
      var expression = (issue.expression || [])[0] || '';
      var diagnostics = issue.diagnostics || issue.code || '';
      var field = fieldFor(expression, kinds);
      var korean = koreanRule(diagnostics);
      if (issue.code === 'security' && field === 'number') {
        korean = '의뢰번호의 병원이 토큰의 병원과 다릅니다. 입력한 병원 코드(' + hospital +
          ')가 맞는지 확인해 주세요.';
      }
      var item = document.createElement('li');
      if (field && showFieldError(field, korean, diagnostics)) {
        firstField = firstField || field;
        item.textContent = (labels.field[field] || field) + ': ' + (korean || diagnostics);
      } else {
        item.textContent = (korean ? korean + ' ' : '') + '(' + expression + ': ' + diagnostics + ')';
      }
      list.appendChild(item);
    });
    summary.hidden = false;
    var target = firstField && document.querySelector('[data-field="' + firstField + '"] input, ' +
      '[data-field="' + firstField + '"] select');
    if (target) {
      target.focus();
    } else {
      summary.focus();
    }
  }

  function showGeneralError(message) {
    var summary = $('form-errors');
    var item = document.createElement('li');
    item.textContent = message;
    summary.querySelector('ul').replaceChildren(item);
    summary.hidden = false;
    summary.focus();
  }

  function showResult(task, created, number) {
    var result = $('result');
    $('result-number').textContent = number;
    var status = $('result-status');
    status.className = 'status status-' + String(task.status || '').replace(/[^a-z-]/g, '');
    status.dataset.status = task.status || '';
    status.textContent = statusLabel(task.status);
    $('result-detail').textContent = created
      ? '군청 통합돌봄 창구에서 검토한 뒤 상태가 바뀝니다. 의뢰 목록에서 확인할 수 있습니다.'
      : '같은 의뢰번호로 이미 보낸 의뢰가 있어 새로 접수하지 않았습니다. 현재 상태를 표시합니다.';
    result.hidden = false;
    result.focus();
  }

  async function onSubmit(event) {
    event.preventDefault();
    var form = event.target;
    clearErrors();
    show($('result'), false);
    var session = currentSession();
    if (!session) { showLogin('먼저 API 토큰과 병원 코드를 입력해 주세요.'); return; }
    var values = readForm(form);
    var built = buildBundle(values, session.hospital);
    var button = $('submit-referral');
    var status = $('submit-status');
    button.disabled = true;
    status.textContent = '보내는 중…';
    var result;
    try {
      result = await api('fhir/Bundle', session.token, {
        method: 'POST', body: JSON.stringify(built.bundle)
      });
    } catch (failure) {
      showGeneralError(failure.message);
      return;
    } finally {
      button.disabled = false;
      status.textContent = '';
    }
    var body = result.body || {};
    if ((result.status === 200 || result.status === 201) && body.resourceType === 'Task') {
      form.reset();
      showResult(body, result.status === 201, values.number);
    } else if (result.status === 401) {
      clearSession();
      showLogin(failureMessage(result) + ' 입력한 의뢰 내용은 그대로 있습니다.');
    } else if (body.resourceType === 'OperationOutcome' && (body.issue || []).length &&
               result.status !== 429) {
      showIssues(body.issue, built.kinds, session.hospital);
    } else {
      showGeneralError(failureMessage(result));
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
