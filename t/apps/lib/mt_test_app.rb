# frozen_string_literal: true

# The endpoints of the Rack test apps (t/apps/rack, t/apps/rack-plain).
# Every endpoint that returns a body returns the pid of the process that
# served it, so a test can compare the record's pid request by request.
module MTTestApp
  MB = 1 << 20
  $retained = []      # /retain: kept for the life of the process
  $leak = []          # /leak: grows ~50 KB per call
  $cache = nil        # /cache: filled once
  $cache_fill = {}    # /cache_fill: ~2 KB per call up to 300 entries, then LRU
  $bloat = nil        # /bloat: 30 MB on the first call
  CACHE_FILL_MAX = 300

  module_function

  def call(env)
    path = env["PATH_INFO"].to_s
    params = query(env)
    name = path.split("/")[1]
    env["memtrack.controller"] = "MTTestApp"
    env["memtrack.action"] = name if name && name.match?(/\A[a-z0-9_]{1,32}\z/)
    case path
    when "/hello" then text("hello\n")
    when "/pid" then pid
    when "/retain" then retain(params)
    when "/leak" then leak
    when "/cache" then cache
    when "/cache_fill" then cache_fill
    when "/leak_native" then leak_native
    when "/bloat" then bloat
    when "/garbage" then garbage
    when "/churn" then churn
    when "/sleep" then nap(params)
    when "/stream" then stream
    when "/status/304" then [304, { "ETag" => "\"mt\"" }, []]
    when "/error" then [500, { "Content-Type" => "text/plain" }, ["error #{Process.pid}\n"]]
    when "/raise" then raise "mt test app: raised on purpose"
    when "/env" then env_dump(env)
    when "/getenv" then getenv(params)
    when "/name" then named(env, params)
    else [404, { "Content-Type" => "text/plain" }, ["not found\n"]]
    end
  end

  def query(env)
    env["QUERY_STRING"].to_s.split("&").to_h { |kv| kv.split("=", 2).then { |k, v| [k, v.to_s] } }
  end

  def text(body, status = 200)
    [status, { "Content-Type" => "text/plain" }, [body]]
  end

  def pid
    text("#{Process.pid}\n")
  end

  def retain(params)
    mb = params["mb"].to_i.clamp(0, 512)
    # 64 KB strings, written so the pages are resident.
    (mb * 16).times { $retained << ("r" * (64 << 10)) }
    pid
  end

  def leak
    100.times { $leak << ("l" * 500) }
    pid
  end

  def cache
    $cache ||= Array.new(5 * 1024) { |i| format("%06d", i) * 170 }
    pid
  end

  # A bounded LRU-like cache: each call adds a 2 KB entry; past
  # CACHE_FILL_MAX entries the oldest goes, so the process keeps ~650 KB
  # after its first 300 calls and nothing more per call. While it fills a
  # call keeps some 2,200 bytes with the entry's key, slots and hash entry,
  # half of MemTrackLeakMin's default (4 KiB). A cache that kept more than
  # the floor per call would read as a leak until it is full, as
  # docs/analysis.md says; with 4 KB entries this one kept 4,150 to 4,180
  # bytes a call, and was kept from that only by the probes' old bias.
  def cache_fill
    $cache_fill_n = ($cache_fill_n || 0) + 1
    $cache_fill["k#{$cache_fill_n}"] = "c" * 2048
    $cache_fill.shift while $cache_fill.size > CACHE_FILL_MAX
    pid
  end

  # ~50 KB of malloc per call that Ruby knows nothing of (as a C extension
  # that leaks would), written so its pages are resident; never freed.
  def leak_native
    require "fiddle"
    @memset ||= Fiddle::Function.new(Fiddle::Handle::DEFAULT["memset"],
                                     [Fiddle::TYPE_VOIDP, Fiddle::TYPE_INT,
                                      Fiddle::TYPE_SIZE_T], Fiddle::TYPE_VOIDP)
    @memset.call(Fiddle.malloc(50_000), 0x6e, 50_000)
    pid
  end

  # A one-time load: 30 MB on the first call of each process, then nothing.
  def bloat
    $bloat ||= Array.new(30 * 16) { "b" * (64 << 10) }
    pid
  end

  # Lighter churn for long runs (make hunt): 20,000 short strings and one
  # 2 MB string, all dropped.
  def churn
    x = nil
    20_000.times { |i| x = "c#{i}" }
    x = "c" * (2 << 20)
    x = nil
    pid
  end

  def garbage
    x = nil
    200_000.times { |i| x = "g#{i}" }
    x = nil
    pid
  end

  def nap(params)
    sleep(params["ms"].to_i.clamp(0, 2000) / 1000.0)
    pid
  end

  def stream
    body = Enumerator.new do |y|
      5.times { |i| y << "chunk #{i} #{Process.pid}\n" }
    end
    [200, { "Content-Type" => "text/plain" }, body]
  end

  # /getenv?name=NAME[&ms=N]: NAME in this process's environment, as the
  # process sees it ("set=VALUE" or "unset"), after an optional nap so that
  # concurrent calls spread over the pool. Tests ask the app rather than read
  # /proc/PID/environ: a process title longer than the original argv (the
  # app root is in it) is written over the start of that memory.
  def getenv(params)
    sleep(params["ms"].to_i.clamp(0, 2000) / 1000.0)
    val = ENV[params["name"].to_s]
    text("#{Process.pid}\n#{val.nil? ? "unset" : "set=#{val}"}\n")
  end

  # /name?c=CONTROLLER&a=ACTION (both %-encoded): the app names this
  # request as the test says, hostile names included, for t/60-status.t.
  def named(env, params)
    env["memtrack.controller"] = Rack::Utils.unescape(params["c"].to_s)
    env["memtrack.action"] = Rack::Utils.unescape(params["a"].to_s)
    pid
  end

  # What reached the app: the test checks that client-sent X-MemTrack*
  # headers were stripped and X-Request-Id was passed.
  def env_dump(env)
    keys = env.keys.grep(/\AHTTP_/).sort
    text(keys.map { |k| "#{k}=#{env[k]}" }.join("\n") + "\npid=#{Process.pid}\n")
  end

  # /hostile?kind=...: a malformed or hostile X-MemTrack header. Only what a
  # Rack app can put in a header value (no CR/LF, no control characters);
  # "multi" uses Rack 2's newline join, which Passenger sends as two headers.
  def hostile(env)
    params = query(env)
    me = Process.pid
    value =
      case params["kind"]
      when "oversized" then "v=1; pid=#{me}; controller=#{'a' * 6000}"
      when "long_ok" then "v=1; pid=#{me}; action=#{'b' * 1900}"
      when "badpid" then "v=1; pid=abc"
      when "nopid" then "v=1; rss_after=1000"
      when "pid1" then "v=1; pid=1"
      when "root" then "v=1; pid=#{root_pid}"
      when "pid" then "v=1; pid=#{params['pid'].to_i}"
      when "zero" then "v=1; pid=0"
      # DEL is a control character: httpd's header filter answers 500 for it
      # (AH02430) unless the module took the header out before.
      when "garbage" then "\x7f\x80\xfe\xff;;;==; =;=;pid;pid=;\xc3\x28".b
      when "highbytes" then "v=1; pid=#{me}; controller=caf\xc3\xa9\xff; \x80\xfe=1".b
      when "dup" then "v=1; pid=#{me}; pid=1; rss_after=5; rss_after=6"
      when "huge" then "v=1; pid=#{me}; rss_after=99999999999999999999999999; live_after=#{2**62}; gc_after=#{2**50 + 1}"
      when "negative" then "v=1; pid=#{me}; rss_before=-5; gc_after=-1; pid=-#{me}"
      when "names" then "v=1; pid=#{me}; controller=a\"b'c<d>; action=x y\\z"
      when "unknown" then "v=1; pid=#{me}; evil=1; rm -rf=/; ;;; v=2"
      when "empty" then ""
      when "spaces" then "   ;  ; "
      when "multi" then "v=1; pid=1\nv=1; pid=#{me}"
      when "version" then "v=99; pid=#{me}"
      else "v=1; pid=#{me}; controller=Hostile; action=valid"
      end
    [200, { "Content-Type" => "text/plain", "X-MemTrack" => value }, ["#{me}\n"]]
  end

  # The first root-owned ancestor (under Passenger: the Passenger core).
  def root_pid
    pid = Process.ppid
    10.times do
      status = File.read("/proc/#{pid}/status")
      return pid if status[/^Uid:\s+(\d+)/, 1] == "0"
      pid = status[/^PPid:\s+(\d+)/, 1].to_i
      break if pid <= 1
    end
    1
  rescue StandardError
    1
  end
end
