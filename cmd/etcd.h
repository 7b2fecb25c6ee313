/* SPDX-License-Identifier: MIT */
/*
 * A client of etcd's v3 JSON gateway (pidshim(1), "Cluster locks"): POSTs
 * of JSON bodies to /v3/..., several endpoints with fail-over, TLS and
 * login as etcdctl takes them. Requests run side by side on one libcurl
 * multi handle, driven by etcd_poll, which also watches the caller's
 * descriptors: a lock wait, the lease's renewal and our child's end in
 * one thread. Only the command links it: the shim never talks to a
 * network.
 */
#ifndef PIDSHIM_ETCD_H
#define PIDSHIM_ETCD_H

#include <curl/curl.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

struct etcd_options {
	const char *cacert, *cert, *key; /* TLS files, or NULL */
	const char *user;		 /* NAME:PASSWORD, or NULL */
};

/* How a request ended. */
enum etcd_result {
	ETCD_OK = 0,
	ETCD_PENDING,	  /* still running */
	ETCD_UNREACHABLE, /* no endpoint answered in time */
	ETCD_LOGIN,	  /* the login was refused */
	ETCD_REFUSED,	  /* etcd answered with an error */
	ETCD_TIMEOUT,	  /* the request's own time ran out */
	ETCD_NOMEM,
};

struct etcd_call;

struct etcd {
	char **urls; /* the endpoints, without a trailing '/' */
	size_t count;
	size_t current; /* the endpoint in use: fail-over moves it on */
	struct etcd_options options;
	char *token; /* the login's token, once logged in */
	CURLM *multi;
	struct etcd_call *active; /* requests under way */
	const char *sub;	  /* for messages: "lock", "run", "status" */
	bool verbose;
	bool relogin, logging_in; /* the token expired: log in again */
	int64_t relogin_at;	  /* not before then (one failed) */
	struct etcd_call *login_call;
};

/* One request. RESULT holds the answer's JSON once it ended ETCD_OK;
 * MESSAGE says why otherwise. */
struct etcd_call {
	struct etcd *etcd;
	const char *path;
	char *body;
	CURL *easy;
	struct curl_slist *headers;
	char *answer;
	size_t answer_len;
	int64_t deadline_ms;	/* when it gives up (etcd_now_ms), or 0 */
	int64_t not_before_ms;	/* a retry waits until then */
	size_t failed;		/* endpoints failed in a row */
	size_t endpoint;	/* the one it is sent to */
	bool follow_on_timeout; /* a timeout means the endpoint failed */
	/* Not sent again, to the next endpoint or the same, when its own
	 * fails: it ends ETCD_UNREACHABLE with FAILED_OVER set. A lock
	 * wait: the abandoned request lives on at a member that was only
	 * stopped or cut off, and etcd deletes the waiter's key when it
	 * ends. */
	bool one_endpoint, failed_over;
	enum etcd_result result;
	json_object *json;
	char message[512];
	char curl_error[CURL_ERROR_SIZE];
	struct etcd_call *next;
};

/* The time fail-over and fencing count in: CLOCK_BOOTTIME, which goes on
 * while the machine sleeps, as the server's clock does. */
int64_t etcd_now_ms(void);

/* URLS: "http://host:port" or "https://host:port", or "host:port"
 * (http). 0, or -1 with a message (cmd_say) for a bad one. */
int etcd_init(struct etcd *e, const char *sub, char **urls, size_t count,
	      const struct etcd_options *options, bool verbose);
void etcd_free(struct etcd *e);

/* Start POST PATH with BODY (taken over), to end by TIMEOUT_MS from now
 * (0: never; then FOLLOW_ON_TIMEOUT is meaningless). With
 * FOLLOW_ON_TIMEOUT a request that timed out is tried on the next
 * endpoint; else it ends ETCD_TIMEOUT. */
void etcd_start(struct etcd_call *c, struct etcd *e, const char *path,
		json_object *body, int timeout_ms, bool follow_on_timeout);
/* Stop a request under way, and free what it holds. */
void etcd_cancel(struct etcd_call *c);
/* Free what an ended request holds (its JSON too). */
void etcd_done(struct etcd_call *c);

/* Run the requests under way until one ends, one of FDS is readable (its
 * revents set), or TIMEOUT_MS (-1: no limit) passes. */
void etcd_poll(struct etcd *e, struct curl_waitfd *fds, unsigned nfds,
	       int timeout_ms);

/* A whole request: started and polled until it ends. Its result; the
 * call's json and message are the caller's to read, then etcd_done. */
enum etcd_result etcd_request(struct etcd_call *c, struct etcd *e,
			      const char *path, json_object *body,
			      int timeout_ms);

/* Log in when a user was given: ETCD_OK, or why not (C's message). */
enum etcd_result etcd_login(struct etcd *e, struct etcd_call *c);

/* An int64 field of OBJ (etcd writes them as strings), or DEFAULT. */
int64_t etcd_int(json_object *obj, const char *field, int64_t fallback);
/* Item I of the array ARRAY: NULL when ARRAY is none or shorter (etcd's
 * gateway leaves out empty arrays). */
json_object *etcd_item(json_object *array, size_t i);
/* OBJ's member PATH[0], then its PATH[1]...: NULL when absent. */
json_object *etcd_get(json_object *obj, const char *const *path);

#endif
