/* SPDX-License-Identifier: MIT */
/*
 * etcd's v3 JSON gateway (pidshim(1), "Cluster locks"): every request a
 * POST of a JSON body, answered by JSON ({"error", "code", "message"} when
 * etcd refuses). An endpoint that cannot be reached, times out or says it
 * has no leader is left for the next one, and every request follows: the
 * cluster is one service, whichever member answers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "etcd.h"

/* An answer larger than this is not one of the few small answers we ask
 * for: cut off, not kept in memory. */
#define ANSWER_MAX (1 << 20)
/* Connecting: a member on loopback or a LAN answers in milliseconds; a
 * stopped one never does. */
#define CONNECT_TIMEOUT_MS 2000
/* One try of a request that moves on when it times out: a member answers
 * in milliseconds, or within its own election wait says it has no
 * leader; one stopped never answers, and the next member should be asked
 * while the request's time still allows. */
#define ATTEMPT_TIMEOUT_MS 2000
/* A login that failed is tried again this much later. */
#define RELOGIN_PAUSE_MS 500
/* After every endpoint failed once, a pause before the next round. */
#define ROUND_PAUSE_MS 200

/* gRPC's codes, as the gateway passes them on */
enum {
	GRPC_INVALID_ARGUMENT = 3,
	GRPC_DEADLINE_EXCEEDED = 4,
	GRPC_PERMISSION_DENIED = 7,
	GRPC_FAILED_PRECONDITION = 9,
	GRPC_UNAVAILABLE = 14,
	GRPC_UNAUTHENTICATED = 16,
};

int64_t etcd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *normalized_url(const char *sub, const char *url)
{
	const char *host = strstr(url, "://");
	const char *scheme_end = host;
	char *out;
	size_t len;

	if (!host) {
		host = url;
		scheme_end = NULL;
	} else {
		host += 3;
	}
	if (scheme_end &&
	    !((scheme_end - url == 4 && strncmp(url, "http", 4) == 0) ||
	      (scheme_end - url == 5 && strncmp(url, "https", 5) == 0))) {
		cmd_say(sub,
			"%s: expected an http:// or https:// URL of an etcd "
			"member",
			url);
		return NULL;
	}
	len = strlen(host);
	while (len && host[len - 1] == '/')
		len--;
	if (!len || memchr(host, '/', len) || memchr(host, '?', len) ||
	    memchr(host, '@', len) || host[0] == ':') {
		cmd_say(sub,
			"%s: expected HOST[:PORT] after the scheme, e.g. "
			"http://10.0.0.1:2379",
			url);
		return NULL;
	}
	/* the scheme as given, or http:// added; the host without
	 * trailing slashes */
	if (asprintf(&out, "%.*s%.*s", scheme_end ? (int)(host - url) : 7,
		     scheme_end ? url : "http://", (int)len, host) < 0)
		return NULL;
	return out;
}

int etcd_init(struct etcd *e, const char *sub, char **urls, size_t count,
	      const struct etcd_options *options, bool verbose)
{
	static bool curl_ready;

	memset(e, 0, sizeof(*e));
	e->sub = sub;
	e->verbose = verbose;
	e->options = *options;
	e->urls = calloc(count, sizeof(*e->urls));
	if (!e->urls)
		return -1;
	for (size_t i = 0; i < count; i++) {
		e->urls[i] = normalized_url(sub, urls[i]);
		if (!e->urls[i]) {
			etcd_free(e);
			return -1;
		}
		e->count++;
	}
	if (!curl_ready && curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		cmd_say(sub, "cannot start libcurl");
		etcd_free(e);
		return -1;
	}
	curl_ready = true;
	e->multi = curl_multi_init();
	if (!e->multi) {
		etcd_free(e);
		return -1;
	}
	return 0;
}

void etcd_free(struct etcd *e)
{
	while (e->active)
		etcd_cancel(e->active);
	for (size_t i = 0; i < e->count; i++)
		free(e->urls[i]);
	free(e->urls);
	free(e->token);
	if (e->multi)
		curl_multi_cleanup(e->multi);
	memset(e, 0, sizeof(*e));
}

static size_t collect(char *data, size_t size, size_t n, void *userdata)
{
	struct etcd_call *c = userdata;
	size_t len = size * n;
	char *grown;

	if (c->answer_len + len > ANSWER_MAX)
		return 0; /* ends the transfer: CURLE_WRITE_ERROR */
	grown = realloc(c->answer, c->answer_len + len + 1);
	if (!grown)
		return 0;
	memcpy(grown + c->answer_len, data, len);
	c->answer = grown;
	c->answer_len += len;
	c->answer[c->answer_len] = '\0';
	return len;
}

static void detach(struct etcd_call *c)
{
	if (c->easy) {
		curl_multi_remove_handle(c->etcd->multi, c->easy);
		curl_easy_cleanup(c->easy);
		c->easy = NULL;
	}
	curl_slist_free_all(c->headers);
	c->headers = NULL;
	free(c->answer);
	c->answer = NULL;
	c->answer_len = 0;
}

static void unlink_call(struct etcd_call *c)
{
	for (struct etcd_call **p = &c->etcd->active; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	c->next = NULL;
}

static void end(struct etcd_call *c, enum etcd_result result)
{
	detach(c);
	unlink_call(c);
	free(c->body);
	c->body = NULL;
	c->result = result;
}

/* Send C to the endpoint in use. */
static void attach(struct etcd_call *c)
{
	struct etcd *e = c->etcd;
	const struct etcd_options *o = &e->options;
	char url[1024];
	long timeout = 0;

	c->endpoint = e->current;
	c->easy = curl_easy_init();
	if (!c->easy) {
		end(c, ETCD_NOMEM);
		return;
	}
	if (c->deadline_ms) {
		timeout = (long)(c->deadline_ms - etcd_now_ms());
		if (timeout < 1)
			timeout = 1;
		if (c->follow_on_timeout && timeout > ATTEMPT_TIMEOUT_MS &&
		    e->count > 1)
			timeout = ATTEMPT_TIMEOUT_MS;
	}
	snprintf(url, sizeof(url), "%s%s", e->urls[c->endpoint], c->path);
	c->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (e->token) {
		char header[4096];

		snprintf(header, sizeof(header), "Authorization: %s", e->token);
		c->headers = curl_slist_append(c->headers, header);
	}
	curl_easy_setopt(c->easy, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85: Debian 11 has 7.74 */
	curl_easy_setopt(c->easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c->easy, CURLOPT_PROTOCOLS,
			 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, c->body);
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
	curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, c->curl_error);
	/* NOSIGNAL left off: libcurl then ignores SIGPIPE around its own
	 * writes (a member resetting a TLS connection), which nothing else
	 * in pidshim wants ignored */
	curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, timeout);
	/* a proxy from the environment would stand between us and the
	 * member whose lease we keep */
	curl_easy_setopt(c->easy, CURLOPT_NOPROXY, "*");
	if (o->cacert)
		curl_easy_setopt(c->easy, CURLOPT_CAINFO, o->cacert);
	if (o->cert)
		curl_easy_setopt(c->easy, CURLOPT_SSLCERT, o->cert);
	if (o->key)
		curl_easy_setopt(c->easy, CURLOPT_SSLKEY, o->key);
	c->curl_error[0] = '\0';
	if (!c->headers || curl_multi_add_handle(e->multi, c->easy) != CURLM_OK)
		end(c, ETCD_NOMEM);
}

void etcd_start(struct etcd_call *c, struct etcd *e, const char *path,
		json_object *body, int timeout_ms, bool follow_on_timeout)
{
	const char *text =
	    json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);

	memset(c, 0, sizeof(*c));
	c->etcd = e;
	c->path = path;
	c->result = ETCD_PENDING;
	c->follow_on_timeout = follow_on_timeout;
	c->deadline_ms = timeout_ms > 0 ? etcd_now_ms() + timeout_ms : 0;
	c->body = text ? strdup(text) : NULL;
	json_object_put(body);
	c->next = e->active;
	e->active = c;
	if (!c->body) {
		end(c, ETCD_NOMEM);
		return;
	}
	attach(c);
}

void etcd_cancel(struct etcd_call *c)
{
	if (c->result == ETCD_PENDING)
		end(c, ETCD_TIMEOUT);
	etcd_done(c);
}

void etcd_done(struct etcd_call *c)
{
	if (c->json)
		json_object_put(c->json);
	c->json = NULL;
}

/* The endpoint C was sent to failed it (WHY said): the next endpoint is
 * used from now on, by C and by every request still on the failed one. */
static void endpoint_failed(struct etcd_call *c, bool hard)
{
	struct etcd *e = c->etcd;
	size_t failed = c->endpoint;
	struct etcd_call *o, *next;

	if (e->verbose)
		cmd_say(e->sub, "%s", c->message);
	detach(c);
	if (e->current == failed)
		e->current = (failed + 1) % e->count;
	for (o = e->active; o; o = next) {
		next = o->next;
		if (o == c || !o->easy || o->endpoint != failed || e->count < 2)
			continue;
		if (o->one_endpoint) {
			snprintf(o->message, sizeof(o->message), "%s",
				 c->message);
			o->failed_over = true;
			end(o, ETCD_UNREACHABLE);
		} else {
			detach(o);
			attach(o);
		}
	}
	if (c->one_endpoint) {
		c->failed_over = true;
		end(c, ETCD_UNREACHABLE);
		return;
	}
	c->failed++;
	if (c->deadline_ms && etcd_now_ms() >= c->deadline_ms) {
		end(c, ETCD_UNREACHABLE);
		return;
	}
	/* every endpoint refused at once: nobody there, no point waiting */
	if (hard && c->failed >= e->count) {
		end(c, ETCD_UNREACHABLE);
		return;
	}
	if (!c->deadline_ms && c->failed >= e->count) {
		end(c, ETCD_UNREACHABLE);
		return;
	}
	if (c->failed % e->count == 0)
		c->not_before_ms = etcd_now_ms() + ROUND_PAUSE_MS;
	else
		attach(c);
}

static bool login_refused(int code, const char *text)
{
	/* "user name is empty": etcd wants a login we were not given */
	return code == GRPC_UNAUTHENTICATED || strstr(text, "user name") ||
	       strstr(text, "auth token") || code == GRPC_PERMISSION_DENIED ||
	       (code == GRPC_INVALID_ARGUMENT &&
		strstr(text, "authentication")) ||
	       (code == GRPC_FAILED_PRECONDITION &&
		strstr(text, "authentication"));
}

/* Whether CODE says nobody will answer there however long we try: no
 * such host, nothing listening, TLS refused either way (a refused client
 * certificate comes as an alert in the first read). */
static bool refused_at_once(const struct etcd_call *c, CURLcode code)
{
	return code == CURLE_COULDNT_CONNECT ||
	       code == CURLE_COULDNT_RESOLVE_HOST ||
	       code == CURLE_SSL_CONNECT_ERROR ||
	       code == CURLE_PEER_FAILED_VERIFICATION ||
	       code == CURLE_SSL_CERTPROBLEM ||
	       code == CURLE_SSL_CACERT_BADFILE ||
	       code == CURLE_UNSUPPORTED_PROTOCOL ||
	       (code == CURLE_RECV_ERROR && strstr(c->curl_error, "SSL"));
}

static void completed(struct etcd_call *c, CURLcode code)
{
	struct etcd *e = c->etcd;
	const char *url = e->urls[c->endpoint];
	long http = 0;
	json_object *error;
	const char *text;
	int grpc;

	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &http);
	if (code != CURLE_OK) {
		snprintf(c->message, sizeof(c->message), "%s: %s", url,
			 c->curl_error[0] ? c->curl_error
					  : curl_easy_strerror(code));
		if (code == CURLE_OPERATION_TIMEDOUT && !c->follow_on_timeout)
			end(c, ETCD_TIMEOUT);
		else
			endpoint_failed(c, refused_at_once(c, code));
		return;
	}
	c->json = c->answer ? json_tokener_parse(c->answer) : NULL;
	if (!c->json || !json_object_is_type(c->json, json_type_object)) {
		snprintf(c->message, sizeof(c->message),
			 "%s: not etcd's v3 JSON gateway (HTTP %ld, %s)", url,
			 http, c->answer_len ? "no JSON" : "no answer");
		etcd_done(c);
		endpoint_failed(c, true);
		return;
	}
	if (http == 200 && !json_object_object_get_ex(c->json, "error", NULL)) {
		end(c, ETCD_OK);
		return;
	}
	json_object_object_get_ex(c->json, "message", &error);
	if (!error)
		json_object_object_get_ex(c->json, "error", &error);
	text = error ? json_object_get_string(error) : "no message";
	grpc = (int)etcd_int(c->json, "code", 0);
	snprintf(c->message, sizeof(c->message), "%s: etcd says: %s", url,
		 text);
	/* a login's token expires (etcd's --auth-token TTL): log in again,
	 * then send C again */
	if (e->options.user && strstr(text, "invalid auth token")) {
		free(e->token);
		e->token = NULL;
		e->relogin = true;
		etcd_done(c);
		detach(c);
		return;
	}
	if (grpc == GRPC_UNAVAILABLE || grpc == GRPC_DEADLINE_EXCEEDED ||
	    http == 503 || strstr(text, "leader")) {
		etcd_done(c);
		endpoint_failed(c, false);
		return;
	}
	end(c, login_refused(grpc, text) ? ETCD_LOGIN : ETCD_REFUSED);
}

void etcd_poll(struct etcd *e, struct curl_waitfd *fds, unsigned nfds,
	       int timeout_ms)
{
	int64_t now = etcd_now_ms();
	struct etcd_call *c, *next;
	CURLMsg *msg;
	int running, left;

	/* a retry's pause, or a deadline curl does not watch (a request
	 * pausing between rounds), bounds the sleep */
	for (c = e->active; c; c = c->next) {
		int64_t at = c->easy ? 0 : c->not_before_ms;

		if (!c->easy && c->deadline_ms && (!at || c->deadline_ms < at))
			at = c->deadline_ms;
		if (at && (timeout_ms < 0 || at - now < timeout_ms))
			timeout_ms = at > now ? (int)(at - now) : 0;
	}
	for (unsigned i = 0; i < nfds; i++)
		fds[i].revents = 0;
	curl_multi_poll(e->multi, fds, nfds,
			timeout_ms < 0 ? 60000 : timeout_ms, NULL);
	curl_multi_perform(e->multi, &running);
	while ((msg = curl_multi_info_read(e->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &c);
		completed(c, msg->data.result);
	}
	now = etcd_now_ms();
	/* tried again every RELOGIN_PAUSE_MS until it works: a member
	 * briefly away must not leave us without a token for good */
	if (e->relogin && !e->logging_in && now >= e->relogin_at) {
		struct etcd_call login;

		e->logging_in = true;
		if (etcd_login(e, &login) == ETCD_OK) {
			e->relogin = false;
		} else {
			if (e->verbose)
				cmd_say(e->sub, "%s", login.message);
			etcd_done(&login);
			e->relogin_at = etcd_now_ms() + RELOGIN_PAUSE_MS;
		}
		e->logging_in = false;
	}
	now = etcd_now_ms();
	for (c = e->active; c; c = next) {
		next = c->next;
		if (c->easy)
			continue;
		/* sent again with a new token, once there is one */
		if ((e->logging_in || e->relogin) && c != e->login_call) {
			if (c->deadline_ms && now >= c->deadline_ms)
				end(c, ETCD_UNREACHABLE);
			else
				c->not_before_ms = e->relogin_at > now
						       ? e->relogin_at
						       : now + RELOGIN_PAUSE_MS;
			continue;
		}
		if (c->deadline_ms && now >= c->deadline_ms)
			end(c, ETCD_UNREACHABLE);
		else if (now >= c->not_before_ms)
			attach(c);
	}
}

enum etcd_result etcd_request(struct etcd_call *c, struct etcd *e,
			      const char *path, json_object *body,
			      int timeout_ms)
{
	etcd_start(c, e, path, body, timeout_ms, true);
	while (c->result == ETCD_PENDING)
		etcd_poll(e, NULL, 0, -1);
	if (c->result == ETCD_TIMEOUT)
		c->result = ETCD_UNREACHABLE;
	return c->result;
}

enum etcd_result etcd_login(struct etcd *e, struct etcd_call *c)
{
	const char *user = e->options.user, *colon;
	json_object *body, *token;
	enum etcd_result r;

	if (!user)
		return ETCD_OK;
	colon = strchr(user, ':');
	body = json_object_new_object();
	json_object_object_add(
	    body, "name",
	    json_object_new_string_len(user, colon ? (int)(colon - user)
						   : (int)strlen(user)));
	json_object_object_add(body, "password",
			       json_object_new_string(colon ? colon + 1 : ""));
	e->login_call = c;
	r = etcd_request(c, e, "/v3/auth/authenticate", body, 5000);
	e->login_call = NULL;
	if (r == ETCD_REFUSED)
		r = ETCD_LOGIN;
	if (r != ETCD_OK)
		return r;
	if (!json_object_object_get_ex(c->json, "token", &token) ||
	    !(e->token = strdup(json_object_get_string(token)))) {
		snprintf(c->message, sizeof(c->message),
			 "%s: no token in the login's answer",
			 e->urls[c->endpoint]);
		etcd_done(c);
		return ETCD_LOGIN;
	}
	etcd_done(c);
	return ETCD_OK;
}

int64_t etcd_int(json_object *obj, const char *field, int64_t fallback)
{
	json_object *v;

	if (!obj || !json_object_object_get_ex(obj, field, &v))
		return fallback;
	errno = 0;
	return json_object_get_int64(v);
}

json_object *etcd_item(json_object *array, size_t i)
{
	if (!array || !json_object_is_type(array, json_type_array) ||
	    i >= json_object_array_length(array))
		return NULL;
	return json_object_array_get_idx(array, i);
}

json_object *etcd_get(json_object *obj, const char *const *path)
{
	for (; obj && *path; path++)
		if (!json_object_object_get_ex(obj, *path, &obj))
			return NULL;
	return obj;
}
