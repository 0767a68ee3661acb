# frozen_string_literal: true

# What the companion (MemTrack::Rack, ruby/lib) adds to the app process's
# own work per Passenger /hello request, in instructions (callgrind) and,
# converted, microseconds:
#
#   ruby tools/companion-callgrind.rb            all setups, callgrind
#   ruby tools/companion-callgrind.rb cpu [N]    native CPU time per request
#   ruby tools/companion-callgrind.rb one SETUP N   (what valgrind runs)
#   CG_N1=2000 CG_N2=12000 CG_WARM=500 CG_SETUPS=plain,companion,...
#   CG_KEEP=DIR keeps the callgrind files there (for callgrind_annotate)
#
# The app is the real one: Rack::Builder.parse_file of t/apps/rack/config.ru
# (Rack::Head, MemTrack::Rack, MTTestApp) or t/apps/rack-plain/config.ru
# (the same without the companion). Each request gets a new env as
# Passenger's Ruby handler builds it (the CGI variables and HTTP_ headers
# mod_passenger sends, X-Request-Id as mod_memtrack sets it, the rack.*
# keys of PhusionPassenger::Rack::ThreadHandlerExtension#process_request),
# and the response is consumed as that handler's process_body does for an
# Array body: generate_headers_array (every header value split on "\n",
# four array pushes per line), the Content-Length lookup, the body's
# bytesize, close. The writev itself is C in Passenger (no Ruby objects):
# here the bytes are only summed.
#
# Setups (one process each, run under valgrind --tool=callgrind with N1
# and with N2 requests after CG_WARM of warm-up; (total2 - total1) /
# (N2 - N1) is instructions per request, the start-up and warm-up cancel):
#   plain       t/apps/rack-plain
#   companion   t/apps/rack, MEMTRACK_SMAPS_EVERY=0 (statm and GC.stat only)
#   smaps100    t/apps/rack, the default: smaps_rollup every 100th request
#   probe100    t/apps/rack, smaps never, every 100th request asks for a
#               probe (X-MemTrack-Want: probe=T; ps=1000, budget 1 so that
#               none is refused; each probe is two full GCs)
#   *-nogc      the same with GC.disable after the warm-up: the difference
#               to the setup is the GC work (minor GCs, lazy sweeping) the
#               requests' allocations cause. Without GC the heap grows
#               instead, so page allocation counts on the no-GC side.
# Callgrind counts user-space instructions only: the kernel's side of the
# companion's /proc reads (two preads of /proc/self/statm a request, the
# smaps_rollup read) is not in them; `cpu` shows it as system time.
require "json"
require "rbconfig"
require "tmpdir"
require "fileutils"

ROOT = File.expand_path("..", __dir__)
RACK_DIR = File.join(ROOT, "t/apps/rack")
PLAIN_DIR = File.join(ROOT, "t/apps/rack-plain")
PROBE_EVERY = 100

# setup => [app directory, environment for the process]
SETUPS = {
  "plain" => [PLAIN_DIR, {}],
  "companion" => [RACK_DIR, { "MEMTRACK_SMAPS_EVERY" => "0" }],
  "smaps100" => [RACK_DIR, { "MEMTRACK_SMAPS_EVERY" => "100" }],
  "probe100" => [RACK_DIR, { "MEMTRACK_SMAPS_EVERY" => "0", "MEMTRACK_PROBE_BUDGET" => "1" }]
}.freeze

# What mod_passenger sends for "GET /hello" from ab/curl on loopback, as
# Passenger's request handler hands it to the app (CGI-style names).
ENV_TEMPLATE = {
  "REQUEST_METHOD" => "GET", "REQUEST_URI" => "/hello", "PATH_INFO" => "/hello",
  "QUERY_STRING" => "", "SCRIPT_NAME" => "", "SERVER_PROTOCOL" => "HTTP/1.0",
  "SERVER_SOFTWARE" => "Apache/2.4.62 (Debian) Phusion_Passenger/6.0.17",
  "SERVER_NAME" => "127.0.0.1", "SERVER_ADDR" => "127.0.0.1", "SERVER_PORT" => "8080",
  "REMOTE_ADDR" => "127.0.0.1", "REMOTE_PORT" => "40404",
  "DOCUMENT_ROOT" => File.join(RACK_DIR, "public"), "PASSENGER_APP_ENV" => "production",
  "HTTP_HOST" => "127.0.0.1:8080", "HTTP_USER_AGENT" => "ApacheBench/2.3",
  "HTTP_ACCEPT" => "*/*", "HTTP_X_REQUEST_ID" => "AAAAAAAAAAAAAAAAAAAAAA.0000000001"
}.freeze

# --- one process: build the app, warm up, serve N requests -------------

def request_env(i, probe)
  env = ENV_TEMPLATE.dup
  env["HTTP_X_MEMTRACK_WANT"] = "probe=#{i}; ps=1000" if probe && (i % PROBE_EVERY).zero?
  # ThreadHandlerExtension#process_request's keys.
  env["rack.version"] = [1, 2]
  env["rack.input"] = nil
  env["rack.errors"] = $stderr
  env["rack.multithread"] = false
  env["rack.multiprocess"] = true
  env["rack.run_once"] = false
  env["rack.url_scheme"] = "http"
  env["rack.hijack?"] = true
  env["rack.hijack"] = -> { env["rack.hijack_io"] }
  env["HTTP_VERSION"] = "HTTP/1.1"
  env
end

# process_body for an Array body with no Content-Length (MTTestApp sets
# none): the header lines, the body's size, the final array.
def consume(status, headers, body)
  out = ["HTTP/1.1 #{status} Whatever\r\n"]
  headers.each do |key, values|
    values = values.is_a?(String) ? values.split("\n") : values.to_s.split("\n")
    values.each { |v| out << key << ": " << v << "\r\n" }
  end
  %w[Content-Length Content-length content-length].each { |h| break if headers[h] }
  %w[Transfer-Encoding Transfer-encoding transfer-encoding].each { |h| break if headers[h] }
  body = body.to_a if body.is_a?(Array)
  length = 0
  body.each { |part| length += part.to_s.bytesize }
  out << "Content-Length: " << length.to_s << "\r\n" << "\r\n"
  bytes = 0
  out.each { |s| bytes += s.bytesize }
  body.each { |s| bytes += s.bytesize }
  body.close if body.respond_to?(:close)
  bytes
end

def serve(app, from, n, probe)
  i = from
  bytes = 0
  while i < from + n
    status, headers, body = app.call(request_env(i, probe))
    bytes += consume(status, headers, body)
    i += 1
  end
  bytes
end

GC_KEYS = %i[count minor_gc_count major_gc_count total_allocated_objects].freeze

def gc_now
  GC_KEYS.to_h { |k| [k, GC.stat(k)] }
end

def one(setup, n)
  dir, = SETUPS.fetch(setup.delete_suffix("-nogc"))
  require "rack"
  app, = Rack::Builder.parse_file(File.join(dir, "config.ru"))
  probe = setup.start_with?("probe")
  warm = Integer(ENV.fetch("CG_WARM", "500"))
  serve(app, 1, warm, probe)
  GC.start
  GC.disable if setup.end_with?("-nogc")
  before = gc_now
  t0 = Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID)
  p0 = Process.times
  bytes = serve(app, warm + 1, n, probe)
  t1 = Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID)
  p1 = Process.times
  after = gc_now
  mw = defined?(MemTrack::Rack) ? ObjectSpace.each_object(MemTrack::Rack).first : nil
  res = { setup: setup, n: n, bytes: bytes, cpu: (t1 - t0) * 1e6 / n,
          user: (p1.utime - p0.utime) * 1e6 / n, sys: (p1.stime - p0.stime) * 1e6 / n }
  GC_KEYS.each { |k| res[k] = after[k] - before[k] }
  res[:probes_started] = mw.probe.started if mw
  res[:errors] = mw.errors if mw
  File.write(ENV["CG_RESULT"], JSON.generate(res)) if ENV["CG_RESULT"]
  res
end

# --- the driver --------------------------------------------------------

def callgrind_total(file)
  File.foreach(file) { |l| return Integer(Regexp.last_match(1)) if l =~ /^(?:summary|totals):\s+(\d+)/ }
  raise "no totals in #{file}"
end

def run_valgrind(setup, n, tmp)
  out = File.join(tmp, "cg.#{setup}.#{n}")
  res = File.join(tmp, "res.#{setup}.#{n}")
  env = SETUPS.fetch(setup.delete_suffix("-nogc"))[1].merge("CG_RESULT" => res)
  ok = system(env, "valgrind", "--tool=callgrind", "--callgrind-out-file=#{out}",
              "--dump-instr=no", "--collect-jumps=no", RbConfig.ruby, __FILE__, "one", setup, n.to_s,
              %i[out err] => File.join(tmp, "log.#{setup}.#{n}"))
  raise "valgrind #{setup} #{n} failed: see #{tmp}/log.#{setup}.#{n}" unless ok

  [callgrind_total(out), JSON.parse(File.read(res), symbolize_names: true)]
end

def per_request(setup, n1, n2, tmp)
  t1, r1 = run_valgrind(setup, n1, tmp)
  t2, r2 = run_valgrind(setup, n2, tmp)
  d = (n2 - n1).to_f
  { setup: setup, ins: (t2 - t1) / d, gc: (r2[:count] - r1[:count]) / d * 1000,
    minor: r2[:minor_gc_count], major: r2[:major_gc_count],
    objects: (r2[:total_allocated_objects] - r1[:total_allocated_objects]) / d,
    probes: r2[:probes_started], errors: r2[:errors] }
end

def drive
  n1 = Integer(ENV.fetch("CG_N1", "2000"))
  n2 = Integer(ENV.fetch("CG_N2", "12000"))
  setups = ENV.fetch("CG_SETUPS", "plain,companion,smaps100,probe100,plain-nogc,companion-nogc").split(",")
  tmp = ENV["CG_KEEP"] || Dir.mktmpdir("mt-companion-cg-")
  puts "ruby #{RUBY_VERSION}, N1 #{n1}, N2 #{n2}, warm-up #{ENV.fetch('CG_WARM', '500')}; " \
       "per request (GC runs per 1000 requests; minor/major of the N2 run)"
  rows = setups.map { |s| per_request(s, n1, n2, tmp) }
  base = rows.find { |r| r[:setup] == "plain" }
  rows.each do |r|
    over = base && r != base ? format(" (%+.0f over plain)", r[:ins] - base[:ins]) : ""
    printf("%-15s %9.0f instructions%s, %6.2f objects, %5.2f GCs/1000 (minor %d, major %d)%s\n",
           r[:setup], r[:ins], over, r[:objects], r[:gc], r[:minor], r[:major],
           r[:probes] ? ", probes #{r[:probes]}, errors #{r[:errors]}" : "")
  end
  FileUtils.remove_entry(tmp) unless ENV["CG_KEEP"]
end

# Native CPU time per request of each setup (N requests, 5 rounds
# interleaved, each round a new process), user and system apart.
def cpu(n)
  setups = ENV.fetch("CG_SETUPS", "plain,companion,smaps100").split(",")
  puts "ruby #{RUBY_VERSION}, native, #{n} requests a round; µs per request user+system (user/system), per round"
  results = Hash.new { |h, k| h[k] = [] }
  5.times do
    setups.each do |s|
      r = IO.popen(SETUPS.fetch(s)[1], [RbConfig.ruby, __FILE__, "cpuone", s, n.to_s], &:read)
      results[s] << JSON.parse(r, symbolize_names: true)
    end
  end
  results.each do |s, rs|
    med = rs.map { |r| r[:cpu] }.sort[2]
    printf("%-10s median %6.2f: %s\n", s, med,
           rs.map { |r| format("%.2f (%.2f/%.2f)", r[:cpu], r[:user], r[:sys]) }.join(", "))
  end
end

def cpuone(setup, n)
  puts JSON.generate(one(setup, n))
end

if __FILE__ == $PROGRAM_NAME
  case ARGV[0]
  when "one" then one(ARGV[1], Integer(ARGV[2]))
  when "cpuone" then cpuone(ARGV[1], Integer(ARGV[2]))
  when "cpu" then cpu(Integer(ARGV[1] || "200000"))
  when nil then drive
  else abort "usage: #{$PROGRAM_NAME} [cpu [N] | one SETUP N]"
  end
end
