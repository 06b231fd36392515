// Real far ends for the broadcast output tests, all on 127.0.0.1, each started by the test in its
// own temporary folder: nginx with the RTMP module, icecast2, and ffprobe/ffmpeg as readers.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

namespace dju_test {

inline int free_port(int type) {
  int fd = socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}
inline int free_tcp_port() { return free_port(SOCK_STREAM); }
inline int free_udp_port() { return free_port(SOCK_DGRAM); }

inline bool tcp_accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

inline std::string make_temp_dir(const char* tmpl) {
  gchar* d = g_dir_make_tmp(tmpl, nullptr);
  std::string s = d ? d : "";
  g_free(d);
  return s;
}

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
}

inline std::string read_file(const std::string& path) {
  gchar* text = nullptr;
  gsize len = 0;
  if (!g_file_get_contents(path.c_str(), &text, &len, nullptr)) return "";
  std::string s(text, len);
  g_free(text);
  return s;
}

// A child process we own: started with argv, killed by its pid.
class Process {
 public:
  Process() = default;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() { stop(SIGKILL); }

  bool start(const std::vector<std::string>& argv, const std::string& log_path) {
    std::vector<const char*> args;
    for (auto& a : argv) args.push_back(a.c_str());
    args.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      // Only async-signal-safe calls between fork and exec (the parent has many threads).
      int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      setpgid(0, 0);
      execvp(args[0], const_cast<char* const*>(args.data()));
      _exit(127);
    }
    return pid_ > 0;
  }
  bool running() {
    if (pid_ <= 0) return false;
    int st;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = st;
      pid_ = -1;
      return false;
    }
    return true;
  }
  // Waits up to timeout_ms for the process to end on its own; returns its exit code or -1.
  int wait(int timeout_ms) {
    for (int i = 0; i < timeout_ms / 10 && running(); ++i) g_usleep(10000);
    if (running()) return -1;
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
  }
  void stop(int sig = SIGTERM) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    for (int i = 0; i < 300 && running(); ++i) g_usleep(10000);
    if (running()) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status_, 0);
      pid_ = -1;
    }
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int status_ = 0;
};

// nginx with libnginx-mod-rtmp: application "live" on 127.0.0.1:port.
class RtmpServer {
 public:
  explicit RtmpServer(int port) : port_(port), dir_(make_temp_dir("dju-nginx-XXXXXX")) {
    g_mkdir_with_parents((dir_ + "/logs").c_str(), 0755);
    write_file(dir_ + "/nginx.conf",
               "load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;\n"
               "daemon off;\nmaster_process off;\nworker_processes 1;\n"
               "error_log " + dir_ + "/logs/error.log warn;\npid " + dir_ + "/nginx.pid;\n"
               "events { worker_connections 64; }\n"
               "rtmp { server { listen 127.0.0.1:" + std::to_string(port) +
               "; chunk_size 4096;\n  application live { live on; record off; } } }\n");
  }
  ~RtmpServer() {
    proc_.stop(SIGKILL);
    gchar* cmd = g_strdup_printf("rm -rf '%s'", dir_.c_str());
    (void)!system(cmd);
    g_free(cmd);
  }
  bool start() {
    if (!proc_.start({"nginx", "-p", dir_, "-c", dir_ + "/nginx.conf", "-e", dir_ + "/logs/stderr.log"},
                     dir_ + "/logs/out.log"))
      return false;
    for (int i = 0; i < 300; ++i) {
      if (tcp_accepts(port_)) return true;
      g_usleep(10000);
    }
    return false;
  }
  void kill_hard() { proc_.stop(SIGKILL); }
  std::string url(const std::string& stream) const {
    return "rtmp://127.0.0.1:" + std::to_string(port_) + "/live/" + stream;
  }
  int port() const { return port_; }

 private:
  int port_;
  std::string dir_;
  Process proc_;
};

// icecast2 with its own configuration; source password "hackme". Icecast refuses to run as root,
// so it drops to nobody, and its log folder is world-writable.
class IcecastServer {
 public:
  explicit IcecastServer(int port) : port_(port), dir_(make_temp_dir("dju-icecast-XXXXXX")) {
    g_chmod(dir_.c_str(), 0777);
    std::string p = std::to_string(port);
    std::string owner = getuid() == 0
                            ? "<changeowner><user>nobody</user><group>nogroup</group></changeowner>"
                            : "";
    write_file(dir_ + "/icecast.xml",
               "<icecast><location>test</location><admin>test@localhost</admin>"
               "<limits><clients>20</clients><sources>4</sources><queue-size>524288</queue-size>"
               "<client-timeout>30</client-timeout><header-timeout>15</header-timeout>"
               "<source-timeout>10</source-timeout><burst-size>65535</burst-size></limits>"
               "<authentication><source-password>hackme</source-password>"
               "<admin-user>admin</admin-user><admin-password>hackme</admin-password></authentication>"
               "<hostname>127.0.0.1</hostname>"
               "<listen-socket><port>" + p + "</port><bind-address>127.0.0.1</bind-address></listen-socket>"
               "<paths><basedir>/usr/share/icecast2</basedir><logdir>" + dir_ + "</logdir>"
               "<webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot>"
               "</paths><logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog>"
               "<loglevel>2</loglevel></logging>"
               "<security><chroot>0</chroot>" + owner + "</security></icecast>\n");
  }
  ~IcecastServer() {
    proc_.stop(SIGKILL);
    gchar* cmd = g_strdup_printf("rm -rf '%s'", dir_.c_str());
    (void)!system(cmd);
    g_free(cmd);
  }
  bool start() {
    if (!proc_.start({"icecast2", "-c", dir_ + "/icecast.xml"}, dir_ + "/out.log")) return false;
    for (int i = 0; i < 300; ++i) {
      if (tcp_accepts(port_)) return true;
      g_usleep(10000);
    }
    return false;
  }
  int port() const { return port_; }

 private:
  int port_;
  std::string dir_;
  Process proc_;
};

// Runs a command to completion (bounded by `timeout` seconds via coreutils' timeout).
inline int run_command(const std::vector<std::string>& argv, std::string* out, int timeout_s) {
  std::vector<gchar*> args;
  std::string t = std::to_string(timeout_s);
  args.push_back(const_cast<gchar*>("timeout"));
  args.push_back(const_cast<gchar*>(t.c_str()));
  for (auto& a : argv) args.push_back(const_cast<gchar*>(a.c_str()));
  args.push_back(nullptr);
  gchar* so = nullptr;
  gchar* se = nullptr;
  gint status = 0;
  GError* err = nullptr;
  if (!g_spawn_sync(nullptr, args.data(), nullptr, G_SPAWN_SEARCH_PATH, nullptr, nullptr, &so, &se, &status,
                    &err)) {
    if (out) *out = err ? err->message : "spawn failed";
    g_clear_error(&err);
    return -1;
  }
  if (out) *out = std::string(so ? so : "") + (se && *se ? std::string("\n[stderr] ") + se : "");
  g_free(so);
  g_free(se);
  return g_spawn_check_wait_status(status, nullptr) ? 0 : 1;
}

struct ProbedStream {
  std::string codec_type, codec_name;
  int sample_rate = 0, channels = 0, width = 0, height = 0;
  double frame_rate = 0;
};

// ffprobe on a live URL: short analysis so it answers in about a second.
inline std::vector<ProbedStream> ffprobe_streams(const std::string& url, std::string* raw, int timeout_s = 15) {
  std::string out;
  run_command({"ffprobe", "-v", "error", "-analyzeduration", "3000000", "-probesize", "2000000", "-show_entries",
               "stream=codec_type,codec_name,sample_rate,channels,width,height,avg_frame_rate,r_frame_rate",
               "-of", "json", url},
              &out, timeout_s);
  if (raw) *raw = out;
  std::vector<ProbedStream> streams;
  std::string json = out.substr(0, out.find("\n[stderr]"));
  JsonParser* p = json_parser_new();
  if (json_parser_load_from_data(p, json.c_str(), -1, nullptr)) {
    JsonObject* root = json_node_get_object(json_parser_get_root(p));
    if (root && json_object_has_member(root, "streams")) {
      JsonArray* arr = json_object_get_array_member(root, "streams");
      for (guint i = 0; i < json_array_get_length(arr); ++i) {
        JsonObject* s = json_array_get_object_element(arr, i);
        ProbedStream ps;
        ps.codec_type = json_object_get_string_member_with_default(s, "codec_type", "");
        ps.codec_name = json_object_get_string_member_with_default(s, "codec_name", "");
        ps.sample_rate = atoi(json_object_get_string_member_with_default(s, "sample_rate", "0"));
        ps.channels = static_cast<int>(json_object_get_int_member_with_default(s, "channels", 0));
        ps.width = static_cast<int>(json_object_get_int_member_with_default(s, "width", 0));
        ps.height = static_cast<int>(json_object_get_int_member_with_default(s, "height", 0));
        int num = 0, den = 1;
        const char* fr = json_object_get_string_member_with_default(s, "avg_frame_rate", "0/1");
        if (sscanf(fr, "%d/%d", &num, &den) == 2 && den > 0) ps.frame_rate = static_cast<double>(num) / den;
        if (ps.frame_rate <= 0) {
          fr = json_object_get_string_member_with_default(s, "r_frame_rate", "0/1");
          if (sscanf(fr, "%d/%d", &num, &den) == 2 && den > 0) ps.frame_rate = static_cast<double>(num) / den;
        }
        streams.push_back(ps);
      }
    }
  }
  g_object_unref(p);
  return streams;
}

inline const ProbedStream* find_stream(const std::vector<ProbedStream>& v, const std::string& type) {
  for (auto& s : v)
    if (s.codec_type == type) return &s;
  return nullptr;
}

}  // namespace dju_test
