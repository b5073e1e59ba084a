/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * TrackMan discovery over a real network, not loopback: two network
 * namespaces joined by a veth pair, the simulator (fitclip-lmsim
 * trackman) in one, the TrackMan client of the monitors library in the
 * other.
 *
 *  - ssdp-multicast: the simulator is a member of the SSDP group
 *    239.255.255.250:1900 on its side of the link and answers M-SEARCH by
 *    unicast; the client searches the group (no target address given),
 *    follows the LOCATION to the description and the WebSocket, and
 *    stores the shots.
 *  - fixed-address-fallback: the "unit" is at 172.30.20.1 port 80 on a
 *    172.30.20.0/24 link and answers no search; the client, told to
 *    discover, gives up on SSDP and connects to the fixed address.
 *
 * The namespaces need root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and
 * iproute2's "ip"; without them each test is reported as skipped with the
 * reason, never as passed. The test creates them, runs the scenario in a
 * subprocess that enters one of them (so a failure cannot leave them
 * behind), then kills what runs inside them and deletes them.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
# include <sched.h>
# include <sys/prctl.h>
#endif

#include "fc-hub.h"
#include "fc-ssdp.h"
#include "fc-trackman-client.h"
#include "lmsim-run.h"
#include "receiver-test.h"

/* Each scenario, namespaces included, must end within this. */
#define SCENARIO_TIMEOUT_S 30
#define WAIT_S             20

/* ---- namespaces (the parent) --------------------------------------------- */

typedef struct {
  char *ns[2];     /* [0] the unit's side, [1] the client's */
  char *veth[2];
} Netns;

/* Runs "ip ARGS..."; FALSE with *why set when it fails. */
static gboolean
ip (char       **why,
    const char  *args)
{
  g_autofree char *command = g_strconcat ("ip ", args, NULL);
  g_auto(GStrv) argv = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  if (!g_shell_parse_argv (command, NULL, &argv, &error) ||
      !g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status, &error) ||
      !g_spawn_check_wait_status (status, &error))
    {
      if (why && *why == NULL)
        *why = g_strdup_printf ("“%s” failed: %s%s%s", command, error->message,
                                err && *err ? ": " : "", err ? g_strstrip (err) : "");
      return FALSE;
    }
  return TRUE;
}

static void
netns_destroy (Netns *n)
{
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *command = NULL;
      g_autofree char *pids = NULL;
      g_auto(GStrv) argv = NULL;

      if (n->ns[i] == NULL)
        continue;
      /* Whatever this test started in there (the simulator, normally
       * gone already) must not outlive the namespace's name. */
      command = g_strdup_printf ("ip netns pids %s", n->ns[i]);
      if (g_shell_parse_argv (command, NULL, &argv, NULL) &&
          g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                        &pids, NULL, NULL, NULL))
        {
          g_auto(GStrv) lines = g_strsplit (pids, "\n", -1);

          for (guint j = 0; lines[j]; j++)
            if (*g_strstrip (lines[j]))
              kill ((pid_t) g_ascii_strtoll (lines[j], NULL, 10), SIGKILL);
        }
      g_clear_pointer (&command, g_free);
      command = g_strdup_printf ("netns del %s", n->ns[i]);
      ip (NULL, command);
      g_clear_pointer (&n->ns[i], g_free);
      g_clear_pointer (&n->veth[i], g_free);
    }
}

/* Two namespaces, a veth pair between them, @addr[i]/24 on each end and
 * a default route through it (a shop PC has one; multicast needs a route). */
static gboolean
netns_create (Netns       *n,
              const char  *addr_unit,
              const char  *addr_client,
              char       **why)
{
  const char *addr[2] = { addr_unit, addr_client };
  g_autofree char *command = NULL;

#ifndef __linux__
  *why = g_strdup ("network namespaces exist on Linux only");
  return FALSE;
#endif
  if (g_find_program_in_path ("ip") == NULL)
    {
      *why = g_strdup ("iproute2's “ip” is not installed (tools/install-deps.sh installs it)");
      return FALSE;
    }
  for (guint i = 0; i < 2; i++)
    {
      /* Short names: interface names have 15 characters at most. */
      n->ns[i] = g_strdup_printf ("fctm%u%c", (guint) getpid (), i ? 'c' : 'u');
      n->veth[i] = g_strdup (n->ns[i]);
      g_clear_pointer (&command, g_free);
      command = g_strdup_printf ("netns add %s", n->ns[i]);
      if (!ip (why, command))
        {
          g_clear_pointer (&n->ns[i], g_free);
          return FALSE;
        }
    }
  g_clear_pointer (&command, g_free);
  command = g_strdup_printf ("link add %s type veth peer name %s", n->veth[0], n->veth[1]);
  if (!ip (why, command))
    return FALSE;
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *move = g_strdup_printf ("link set %s netns %s", n->veth[i], n->ns[i]);
      g_autofree char *address = g_strdup_printf ("-n %s addr add %s/24 dev %s", n->ns[i], addr[i], n->veth[i]);
      g_autofree char *lo = g_strdup_printf ("-n %s link set lo up", n->ns[i]);
      g_autofree char *up = g_strdup_printf ("-n %s link set %s up", n->ns[i], n->veth[i]);
      g_autofree char *route = g_strdup_printf ("-n %s route add default dev %s", n->ns[i], n->veth[i]);

      if (!ip (why, move) || !ip (why, address) || !ip (why, lo) || !ip (why, up) || !ip (why, route))
        return FALSE;
    }
  return TRUE;
}

/* Creates the namespaces, runs the current test again in a subprocess
 * (which does the work, see the scenarios), cleans up, and passes only if
 * the subprocess passed. */
static void
run_in_namespaces (const char *addr_unit,
                   const char *addr_client)
{
  Netns n = { { NULL } };
  g_autofree char *why = NULL;

  if (!netns_create (&n, addr_unit, addr_client, &why))
    {
      g_autofree char *skip = g_strdup_printf ("cannot create network namespaces (needs root and "
                                               "iproute2): %s", why);

      netns_destroy (&n);
      /* On stderr too, so that the log says why beside the TAP line. */
      g_printerr ("SKIP: %s\n", skip);
      g_test_skip (skip);
      return;
    }
  g_setenv ("FCTEST_NS_UNIT", n.ns[0], TRUE);
  g_setenv ("FCTEST_NS_CLIENT", n.ns[1], TRUE);
  g_setenv ("FCTEST_IF_UNIT", n.veth[0], TRUE);
  /* stdout is the parent's TAP stream; the scenario reports on stderr. */
  g_test_trap_subprocess (NULL, SCENARIO_TIMEOUT_S * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  netns_destroy (&n);
  g_test_trap_assert_passed ();
}

/* ---- the scenario (the subprocess, inside the client's namespace) -------- */

typedef struct {
  char             *dir;
  char             *db;
  FcHub            *hub;
  FcTrackmanClient *client;
  LmsimRun         *sim;
} Scenario;

/* Moves this process into the client's namespace. Called first thing in
 * the subprocess, before GLib has started any thread: a namespace is per
 * thread, and every thread made later inherits it. */
static void
enter_client_namespace (const char *local_address)
{
#ifdef __linux__
  g_autofree char *path = g_build_filename ("/run/netns", g_getenv ("FCTEST_NS_CLIENT"), NULL);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  g_autoptr(GSocket) probe = NULL;
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (local_address);
  g_autoptr(GSocketAddress) local = g_inet_socket_address_new (address, 0);
  g_autoptr(GError) error = NULL;

  if (fd < 0 || setns (fd, CLONE_NEWNET) != 0)
    g_error ("cannot enter %s: %s", path, g_strerror (errno));
  close (fd);
  /* Proof that this is the client's side of the link. */
  probe = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (probe, local, FALSE, &error));
  g_assert_no_error (error);
#endif
}

static void
die_with_parent (gpointer user_data)
{
#ifdef __linux__
  /* A failed scenario must not leave the simulator running. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
#endif
}

/* The simulator in the unit's namespace, with @args; returns its HTTP
 * port from "listening http://ADDR:PORT/". */
static guint
sim_start (Scenario    *sc,
           const char  *address,
           const char **args)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  const char *prefix[] = { "ip", "netns", "exec", g_getenv ("FCTEST_NS_UNIT"), NULL };
  g_autofree char *line = NULL;
  g_autofree char *want = g_strdup_printf ("listening http://%s:", address);

  g_ptr_array_add (argv, (char *) "--address");
  g_ptr_array_add (argv, (char *) address);
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  sc->sim = lmsim_run_spawn_lines (launcher, prefix, "trackman", (const char * const *) argv->pdata);
  line = lmsim_run_read_line (sc->sim);
  if (line == NULL || !g_str_has_prefix (line, want))
    g_error ("the simulator did not start: “%s”", line ? line : "(nothing)");
  return (guint) g_ascii_strtoull (line + strlen (want), NULL, 10);
}

/* Stops the simulator with Ctrl-C and returns its summary line. */
static char *
sim_stop (Scenario *sc)
{
  char *summary = lmsim_run_interrupt (sc->sim);

  g_clear_pointer (&sc->sim, lmsim_run_free);
  return summary;
}

static void
scenario_init (Scenario *sc)
{
  g_autoptr(GError) error = NULL;

  sc->dir = g_dir_make_tmp ("fitclip-tm-discovery-XXXXXX", &error);
  g_assert_no_error (error);
  sc->db = g_build_filename (sc->dir, "trackman.db", NULL);
  sc->hub = fc_hub_new (sc->db, NULL, "Bay 1", &error);
  g_assert_no_error (error);
  sc->client = fc_trackman_client_new (sc->hub);
}

static void
scenario_clear (Scenario *sc)
{
  g_autofree char *wal = g_strconcat (sc->db, "-wal", NULL);
  g_autofree char *shm = g_strconcat (sc->db, "-shm", NULL);

  g_clear_object (&sc->client);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_object (&sc->hub);
  g_remove (sc->db);
  g_remove (wal);
  g_remove (shm);
  g_rmdir (sc->dir);
  g_free (sc->db);
  g_free (sc->dir);
}

/* Runs the client until @n shots are stored; returns when the first was. */
static gint64
wait_for_shots (Scenario *sc,
                guint     n)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;
  gint64 first = 0;

  for (;;)
    {
      g_autoptr(FcMonitorInfo) info = fc_hub_get_monitor (sc->hub, fc_trackman_client_get_monitor_id (sc->client));

      if (info && info->shots > 0 && first == 0)
        first = g_get_monotonic_time ();
      if (info && info->shots >= n)
        return first;
      if (g_get_monotonic_time () > deadline)
        g_error ("only %u of %u shots arrived in %d s", info ? info->shots : 0, n, WAIT_S);
      g_main_context_iteration (NULL, FALSE) || (g_usleep (2000), 0);
    }
}

/* Every stored shot came from the unit at @peer (as the client names it). */
static void
assert_stored (Scenario   *sc,
               guint       n,
               const char *device_id,
               const char *peer)
{
  g_autoptr(GPtrArray) shots = NULL;

  /* The hub commits on its own thread; it is done once it is gone. */
  g_clear_object (&sc->client);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_object (&sc->hub);
  shots = receiver_stored_shots (sc->db);
  for (guint i = 0; i < shots->len; i++)
    {
      FcShot *s = shots->pdata[i];

      g_assert_cmpstr (s->device_id, ==, device_id);
      g_assert_cmpstr (s->source_detail, ==, peer);
      g_assert_cmpstr (s->source_protocol, ==, "trackman4-ws");
      g_assert_true (fc_shot_has (s, FC_FIELD_BALL_SPEED));
    }
  g_assert_cmpuint (shots->len, ==, n);
}

static void
on_discovered (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GTask **out = user_data;

  *out = g_object_ref (G_TASK (result));
}

static void
scenario_multicast (void)
{
  const char *args[] = { "--ssdp-multicast", "--ssdp-interface", g_getenv ("FCTEST_IF_UNIT"),
                         "--count", "3", "--rate", "0", "--seed", "21", NULL };
  Scenario sc = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GTask) found = NULL;
  g_autofree char *location = NULL;
  g_autofree char *want = NULL;
  g_autofree char *line = NULL;
  g_autofree char *peer = NULL;
  g_autofree char *summary = NULL;
  gint64 deadline;
  guint port;

  enter_client_namespace ("10.77.0.2");
  scenario_init (&sc);
  port = sim_start (&sc, "10.77.0.1", args);
  line = lmsim_run_read_line (sc.sim);
  g_assert_cmpstr (line, ==, "ssdp " FC_SSDP_MULTICAST_ADDRESS ":1900");

  /* A search of the group alone (no target address) finds the unit. */
  fc_ssdp_discover_async (FC_SSDP_ST_TRACKMAN, NULL, 5000, NULL, on_discovered, &found);
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (found == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (found);
  location = fc_ssdp_discover_finish (G_ASYNC_RESULT (found), &error);
  g_assert_no_error (error);
  want = g_strdup_printf ("http://10.77.0.1:%u/description.xml", port);
  g_assert_cmpstr (location, ==, want);

  /* The whole path as the agent runs it: discover, description, WebSocket. */
  g_assert_true (fc_trackman_client_start (sc.client, "discover", &error));
  g_assert_no_error (error);
  wait_for_shots (&sc, 3);
  g_assert_cmpuint (fc_trackman_client_get_connections (sc.client), ==, 1);
  peer = g_strdup_printf ("10.77.0.1:%u", port);
  assert_stored (&sc, 3, "trackman/10.77.0.1", peer);

  summary = sim_stop (&sc);
  g_printerr ("simulator: %s\n", summary);
  /* Our own search and the client's, each answered over the link. */
  g_assert_cmpuint (lmsim_summary_value (summary, "ssdp"), >=, 2);
  g_assert_cmpuint (lmsim_summary_value (summary, "subscribes"), ==, 1);
  g_assert_cmpuint (lmsim_summary_value (summary, "shots"), ==, 3);
  scenario_clear (&sc);
}

static void
scenario_fallback (void)
{
  const char *args[] = { "--port", "80", "--count", "2", "--rate", "0", "--seed", "22", NULL };
  Scenario sc = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *summary = NULL;
  gint64 started, first;
  guint port;

  enter_client_namespace ("172.30.20.2");
  scenario_init (&sc);
  port = sim_start (&sc, "172.30.20.1", args);
  g_assert_cmpuint (port, ==, 80);

  started = g_get_monotonic_time ();
  g_assert_true (fc_trackman_client_start (sc.client, "discover", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (fc_trackman_client_get_monitor_id (sc.client), ==, "trackman");
  first = wait_for_shots (&sc, 2);
  /* Nobody answered the search: the client waited it out (3 s) before
   * trying the fixed address, which is the only way it could know. */
  g_assert_cmpint (first - started, >=, 3 * G_USEC_PER_SEC);
  g_assert_cmpuint (fc_trackman_client_get_connections (sc.client), ==, 1);
  assert_stored (&sc, 2, "trackman/172.30.20.1", "172.30.20.1");

  summary = sim_stop (&sc);
  g_printerr ("simulator: %s\n", summary);
  g_assert_cmpuint (lmsim_summary_value (summary, "ssdp"), ==, 0);
  g_assert_cmpuint (lmsim_summary_value (summary, "subscribes"), ==, 1);
  scenario_clear (&sc);
}

/* ---- tests ------------------------------------------------------------------ */

static void
test_ssdp_multicast (void)
{
  if (g_test_subprocess ())
    {
      scenario_multicast ();
      return;
    }
  run_in_namespaces ("10.77.0.1", "10.77.0.2");
}

static void
test_fixed_address_fallback (void)
{
  if (g_test_subprocess ())
    {
      scenario_fallback ();
      return;
    }
  g_assert_cmpstr (FC_TRACKMAN_FALLBACK_URL, ==, "http://172.30.20.1/");
  run_in_namespaces ("172.30.20.1", "172.30.20.2");
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/trackman-discovery/ssdp-multicast", test_ssdp_multicast);
  g_test_add_func ("/trackman-discovery/fixed-address-fallback", test_fixed_address_fallback);
  return g_test_run ();
}
