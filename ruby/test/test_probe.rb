# frozen_string_literal: true

require_relative "helper"
require "fiddle"

# Probes: "X-MemTrack-Want: probe=T; ps=N" on request N, the result on the
# process's next request (ruby/lib/memtrack/probe.rb).
#
# Where time matters the probe's clock is the test's own (`now` on the
# probe), and a "GC" that advances it by a known amount stands in for the
# real one's duration; the retained-memory tests run real full GCs and read
# real malloc statistics.
class TestMemTrackProbe < Minitest::Test
  include MemTrackTestHelper

  MB = 1 << 20
  KEEP = [] # what the test apps retain, for the life of this process

  # The app of the retained-memory tests: PATH_INFO names what one request
  # leaves behind.
  WORK = {
    "/noop" => -> {},
    "/string" => -> { KEEP << ("s" * 50_000) },
    "/strings" => -> { 20.times { KEEP << ("m" * 50_000) } },
    "/objects" => lambda {
      o = nil # a chain of 10,000 plain objects, each one slot, no malloc
      10_000.times { n = Object.new; n.instance_variable_set(:@next, o); o = n }
      KEEP << o
    },
    "/native" => -> { Fiddle.malloc(50_000) }, # never freed
    "/garbage" => -> { x = nil; 200_000.times { |i| x = "g#{i}" }; x }
  }.freeze

  def work_app
    lambda do |env|
      WORK.fetch(env["PATH_INFO"]).call
      [200, { "Content-Type" => "text/plain" }, ["ok"]]
    end
  end

  def setup
    @saved_env = ENV.to_h.slice("MEMTRACK_PROBE", "MEMTRACK_PROBE_BUDGET")
    ENV.delete("MEMTRACK_PROBE")
    ENV.delete("MEMTRACK_PROBE_BUDGET")
  end

  def teardown
    %w[MEMTRACK_PROBE MEMTRACK_PROBE_BUDGET].each { |k| ENV[k] = @saved_env[k] }
  end

  # A middleware whose probe runs on a test clock (@now, seconds) and whose
  # full GCs, counted in @gcs, advance that clock by gc_s each.
  def fake_clock_mw(budget: 1.0, gc_s: 0.0, **opts)
    mw = MemTrack::Rack.new(ok_app, smaps_every: 0, probe_budget: budget, **opts)
    @now = 1000.2
    @gcs = 0
    test = self
    mw.probe.define_singleton_method(:now) { test.instance_variable_get(:@now) }
    mw.probe.define_singleton_method(:full_gc) do
      test.instance_variable_set(:@gcs, test.instance_variable_get(:@gcs) + 1)
      test.instance_variable_set(:@now, test.instance_variable_get(:@now) + gc_s)
    end
    mw
  end

  # One request; its X-MemTrack header parsed as the module would.
  def req(mw, want = nil, path = "/x")
    env = want ? { "HTTP_X_MEMTRACK_WANT" => want } : {}
    env = Rack::MockRequest.env_for(path, env)
    status, headers, = mw.call(env)
    assert_equal 200, status
    parse_strict(header_of(headers))
  end

  def probe_keys(h)
    h.keys.grep(/\Aprobe/)
  end

  # --- the protocol --------------------------------------------------------

  def test_result_comes_on_the_next_request_with_the_token
    mw = fake_clock_mw
    h = req(mw, "probe=7; ps=5")
    assert_equal 7, h["probe"], "the process agreed to probe"
    assert_equal ["probe"], probe_keys(h)
    @now += 0.5
    h = req(mw)
    assert_equal 7, h["probe_done"]
    assert_equal %w[probe_bytes probe_done probe_objects probe_us], probe_keys(h).sort
    assert_equal 0, h["probe_us"], "the test clock did not move during the GCs"
    assert_equal [], probe_keys(req(mw)), "the result is reported once"
    assert_equal 2, @gcs, "one full GC before, one after"
    assert_equal [1, 1, 0, 0], counts(mw.probe)
    assert_equal 0, mw.errors, mw.last_error.inspect
  end

  def counts(probe)
    [probe.started, probe.finished, probe.dropped, probe.refused]
  end

  def test_chained_probes_share_the_gc
    mw = fake_clock_mw(gc_s: 0.010)
    assert_equal 1, req(mw, "probe=1; ps=10")["probe"]
    assert_equal 1, @gcs
    h = req(mw, "probe=2; ps=10")
    assert_equal 1, h["probe_done"]
    assert_equal 2, h["probe"], "the next probe starts on the same request"
    assert_equal 2, @gcs, "one GC was the after of 1 and the before of 2"
    assert_equal 20_000, h["probe_us"], "probe 1: its own before and after GC"
    h = req(mw)
    assert_equal 2, h["probe_done"]
    assert_equal 10_000, h["probe_us"], "probe 2: only its after GC, the before was shared"
    assert_equal 3, @gcs
  end

  def test_pending_probe_older_than_60_seconds_is_dropped
    mw = fake_clock_mw
    req(mw, "probe=5")
    @now += 59.0
    assert_equal 5, req(mw)["probe_done"], "59 s: still reported"
    req(mw, "probe=6")
    @now += 60.5
    h = req(mw)
    assert_equal [], probe_keys(h), "60.5 s later: dropped, not reported"
    assert_equal 3, @gcs, "and no GC run for it"
    assert_equal 1, mw.probe.dropped
  end

  def test_pending_probe_is_dropped_in_a_forked_child
    mw = MemTrack::Rack.new(ok_app, smaps_every: 0, probe_budget: 1.0)
    assert_equal 3, req(mw, "probe=3; ps=100")["probe"]
    rd, wr = IO.pipe
    pid = fork do
      rd.close
      wr.write(header_of(call_app(mw)[1]))
      wr.close
      exit!(0)
    end
    wr.close
    child = rd.read
    Process.wait(pid)
    h = parse_strict(child)
    assert_equal pid, h["pid"]
    assert_equal [], probe_keys(h), "the child does not report its parent's probe"
    assert_equal 3, req(mw)["probe_done"], "the parent still does"
  end

  # --- what the figures say ------------------------------------------------

  # Probe one request of `path`, return the result reported on the next.
  def probe_once(mw, path)
    @token = (@token || 0) + 1
    assert_equal @token, req(mw, "probe=#{@token}; ps=1000", path)["probe"]
    h = req(mw, nil, "/noop")
    assert_equal @token, h["probe_done"]
    h
  end

  # The median result of three probes of `path`. One probe can be off by
  # whatever became garbage during it that the GC before it could not free
  # yet: a stale pointer on the machine stack (Ruby scans it
  # conservatively), objects freed in two steps (IO, some C data). Here that
  # is what earlier tests left; in an app, what earlier requests left.
  def probe_of(mw, path)
    3.times.map { probe_once(mw, path) }.sort_by { |h| h["probe_bytes"] }[1]
  end

  def retained_mw
    mw = MemTrack::Rack.new(work_app, smaps_every: 0, probe_budget: 1.0)
    3.times { WORK.each_key { |path| req(mw, nil, path) } } # warm up every path
    2.times { probe_once(mw, "/noop") } # and the probe's own code
    mw
  end

  def test_retained_ruby_string
    h = probe_of(retained_mw, "/string")
    assert_in_delta 50_000, h["probe_bytes"], 5_000, "one 50 KB string kept"
    h = probe_of(retained_mw, "/strings")
    assert_in_delta 1_000_000, h["probe_bytes"], 100_000, "20 strings of 50 KB kept"
    assert_in_delta 20, h["probe_objects"], 5
  end

  def test_retained_small_objects
    h = probe_of(retained_mw, "/objects")
    assert_in_delta 10_000, h["probe_objects"], 20, "10,000 objects kept"
    assert_in_delta 10_000 * 40, h["probe_bytes"], 40_000, "one 40-byte slot each"
  end

  def test_retained_native_malloc
    h = probe_of(retained_mw, "/native")
    assert_in_delta 50_000, h["probe_bytes"], 5_000, "50 KB malloc'd through Fiddle, never freed"
    assert_in_delta 0, h["probe_objects"], 5
  end

  def test_garbage_is_not_retained
    mw = retained_mw
    3.times do
      h = probe_of(mw, "/garbage")
      assert_operator h["probe_bytes"].abs, :<, 8 << 10, "200k strings made, none kept"
      assert_operator h["probe_objects"].abs, :<, 20
    end
    h = probe_of(mw, "/noop")
    assert_operator h["probe_bytes"].abs, :<, 8 << 10, "an empty request"
  end

  # The probe's own objects are the same on both of its sides: the header's
  # string leaves the env and its items go into one Want per fiber, so an
  # empty request keeps nothing (the median of 9; each env is built here, so
  # that no frame of the test holds the header's string, as in Passenger).
  # Before, every probe counted those two objects freed: -2, -80 bytes.
  def test_a_probe_counts_nothing_of_its_own
    mw = retained_mw
    results = Array.new(9) do |i|
      token = 100 + i
      env = Rack::MockRequest.env_for("/noop", "HTTP_X_MEMTRACK_WANT" => "probe=#{token}; ps=1000")
      assert_equal token, parse_strict(header_of(mw.call(env)[1]))["probe"]
      env = nil
      h = req(mw, nil, "/noop")
      assert_equal token, h["probe_done"]
      h
    end
    objects = results.map { |h| h["probe_objects"] }.sort
    bytes = results.map { |h| h["probe_bytes"] }.sort
    assert_equal 0, objects[4], "objects kept, median of 9: #{objects}"
    assert_operator bytes[4].abs, :<, 40, "bytes kept, median of 9: #{bytes}"
  end

  def test_both_malloc_readers_agree
    skip "mallinfo2 through a hidden struct pointer is x86_64 Linux only" unless
      MemTrack::MallocStats::Mallinfo2.platform?
    fast = MemTrack::MallocStats::Mallinfo2.new
    xml = MemTrack::MallocStats::MallocInfo.new
    assert_same MemTrack::MallocStats::Mallinfo2, MemTrack::MallocStats.reader.class
    a = [fast.in_use, xml.in_use]
    ptr = Fiddle.malloc(MB)
    b = [fast.in_use, xml.in_use]
    Fiddle.free(ptr)
    assert_in_delta MB, b[0] - a[0], 16 << 10, "mallinfo2 sees 1 MiB more"
    assert_in_delta b[0] - a[0], b[1] - a[1], 16 << 10, "malloc_info sees the same"
    assert_in_delta fast.in_use, xml.in_use, 64 << 10, "and about the same total"
  end

  # --- limits --------------------------------------------------------------

  # Tokens started of n probe requests in a row (each also finishes the last).
  def started(mw, n, ps = nil)
    n.times.count do
      @token = (@token || 0) + 1
      req(mw, ps ? "probe=#{@token}; ps=#{ps}" : "probe=#{@token}")["probe"] == @token
    end
  end

  def test_probes_per_second
    mw = fake_clock_mw
    assert_equal 2, started(mw, 5), "ps absent: 2 a second"
    @now = 1000.9
    assert_equal 0, started(mw, 2), "none more in the same second"
    @now = 1001.0
    assert_equal 3, started(mw, 6, 3), "ps=3 in the next second"
    @now = 1002.0
    assert_equal 1, started(mw, 3, 1), "ps=1"
    assert_equal 0, mw.errors
  end

  # A GC takes 10 ms of the test clock; a budget of 2% keeps new probes out
  # for 0.5 s after each.
  def test_gc_time_budget
    mw = fake_clock_mw(budget: 0.02, gc_s: 0.010)
    @now = 1000.0
    assert_equal 1, req(mw, "probe=1; ps=100")["probe"]         # GC 1000.00-1000.01
    @now = 1000.1
    h = req(mw)                                                   # GC 1000.10-1000.11
    assert_equal [1, 20_000], [h["probe_done"], h["probe_us"]]
    # bar: max(1000.0 + 0.5, 1000.1) + 0.5 = 1001.0
    @now = 1000.9
    assert_nil req(mw, "probe=2; ps=100")["probe"], "refused: within the budget's quiet time"
    assert_equal 2, @gcs, "a refused probe runs no GC"
    @now = 1001.001
    assert_equal 3, req(mw, "probe=3; ps=100")["probe"], "allowed again"
    assert_equal 1, mw.probe.refused
  end

  def test_budget_stops_chaining
    mw = fake_clock_mw(budget: 0.5, gc_s: 0.010)
    req(mw, "probe=1; ps=100")
    h = req(mw, "probe=2; ps=100")
    assert_equal 1, h["probe_done"]
    assert_nil h["probe"], "after a 10 ms GC a 50% budget waits 20 ms"
  end

  def test_budget_from_env
    { "0.5" => 0.5, "1" => 1.0, "0" => 0.02, "2" => 0.02, "-1" => 0.02, "junk" => 0.02,
      "" => 0.02, "nan" => 0.02 }.each do |value, budget|
      ENV["MEMTRACK_PROBE_BUDGET"] = value
      assert_equal budget, MemTrack::Rack.new(ok_app).probe.budget, value.inspect
    end
    ENV.delete("MEMTRACK_PROBE_BUDGET")
    assert_equal 0.02, MemTrack::Rack.new(ok_app).probe.budget
  end

  def test_probes_off
    ENV["MEMTRACK_PROBE"] = "0"
    mw = fake_clock_mw
    5.times { |i| assert_equal [], probe_keys(req(mw, "probe=#{i + 1}; ps=100")) }
    assert_equal 0, @gcs
    assert_equal 0, mw.probe.started
    ENV["MEMTRACK_PROBE"] = "1"
    assert_equal 1, req(fake_clock_mw, "probe=1")["probe"], "any other value: on"
    assert_equal [], probe_keys(req(fake_clock_mw(probe: false), "probe=1")), "probe: false"
  end

  def test_want_without_probe_runs_no_gc
    mw = fake_clock_mw
    ["smaps", "ps=5", "", " ; ", "frobnicate", "smaps; ps=1000"].each do |want|
      assert_equal [], probe_keys(req(mw, want)), want.inspect
    end
    assert_equal 0, @gcs
    assert_equal [0, 0, 0, 0], counts(mw.probe)
  end

  # Objects allocated per request, measured exactly, with probes on and off:
  # the probe machinery adds none to a request that is not probed.
  def test_unprobed_requests_allocate_nothing_new
    on = MemTrack::Rack.new(ok_app, smaps_every: 0, probe: true)
    off = MemTrack::Rack.new(ok_app, smaps_every: 0, probe: false)
    envs = ->(n) { Array.new(n) { Rack::MockRequest.env_for("/x") } }
    per_request = lambda do |mw|
      e = envs.call(200)
      mw.call(envs.call(1)[0])
      a = GC.stat(:total_allocated_objects)
      e.each { |env| mw.call(env) }
      (GC.stat(:total_allocated_objects) - a) / 200.0
    end
    per_request.call(on)
    per_request.call(off)
    assert_equal per_request.call(off), per_request.call(on)
  end

  def test_malformed_want_items_are_ignored
    mw = fake_clock_mw
    ["probe=abc", "probe=-1", "probe=#{2**60}", "probe=0", "probe=", "probe=5x", "probe=+5",
     "probe=0x10", "probe=1.5", "Probe=5", "probe:5", "probe=#{2**50 + 1}"].each do |want|
      assert_equal [], probe_keys(req(mw, want)), want.inspect
    end
    assert_equal 0, @gcs
    assert_equal 2**50, req(mw, "probe=#{2**50}")["probe"], "the highest token"
    @now += 1
    assert_equal 9, req(mw, "probe=9; ps=0")["probe"], "ps=0 ignored: the default applies"
    @now += 1
    assert_equal 11, req(mw, " ps = 2000 ;probe = 11 ")["probe"], "bad ps ignored, spaces allowed"
    assert_equal 12, req(mw, "probe=12; probe=13")["probe"], "the first token counts"
  end

  def test_smaps_item_and_the_old_bare_form
    mw = fake_clock_mw
    assert req(mw, "smaps").key?("uss"), "X-MemTrack-Want: smaps"
    h = req(mw, "smaps; probe=4; ps=9")
    assert h.key?("uss")
    assert_equal 4, h["probe"]
    assert req(mw, " ps=3 ;smaps ").key?("uss")
    assert req(mw, "probe=abc;smaps").key?("uss"), "a bad item does not spoil the others"
    refute req(mw, "nosmaps").key?("uss")
    refute req(mw).key?("uss")
  end

  def test_parse_want
    mw = MemTrack::Rack.new(ok_app)
    w = mw.parse_want("smaps; probe=42; ps=7; other=1")
    assert_equal [true, 42, 7], [w.smaps, w.token, w.ps]
    w = mw.parse_want("probe=#{2**60}; ps=1001")
    assert_equal [false, nil, nil], [w.smaps, w.token, w.ps]
  end

  # --- never into the app ----------------------------------------------------

  def test_failing_malloc_reader_leaves_objects
    mw = fake_clock_mw
    broken = Object.new
    def broken.in_use = raise(Fiddle::DLError, "gone")
    mw.probe.instance_variable_set(:@reader, broken)
    mw.probe.instance_variable_set(:@reader_tried, true)
    req(mw, "probe=1")
    h = req(mw)
    assert_equal 1, h["probe_done"]
    refute h.key?("probe_bytes"), "no malloc figure: no probe_bytes"
    assert h.key?("probe_objects")
    assert_kind_of Fiddle::DLError, mw.probe.reader_error
  end

  def test_failing_gc_never_reaches_the_app
    mw = MemTrack::Rack.new(ok_app, smaps_every: 0)
    mw.probe.define_singleton_method(:full_gc) { raise NoMethodError, "no GC today" }
    h = req(mw, "probe=1")
    assert_equal [], probe_keys(h)
    assert_equal Process.pid, h["pid"]
    assert_equal 1, mw.errors
  end

  def test_longest_header_with_probe_items_fits
    app = lambda do |env|
      env["memtrack.controller"] = "c" * 1000
      env["memtrack.action"] = "a" * 1000
      [200, {}, []]
    end
    mw = MemTrack::Rack.new(app, smaps_every: 1, probe_budget: 1.0)
    req(mw, "probe=#{2**50}; ps=1000")
    v = header_of(mw.call(Rack::MockRequest.env_for("/", "HTTP_X_MEMTRACK_WANT" =>
                                                    "smaps; probe=#{2**50 - 1}; ps=1000"))[1])
    h = parse_strict(v)
    assert_equal 2**50, h["probe_done"]
    assert_equal 2**50 - 1, h["probe"]
    assert_operator v.bytesize, :<, 1024
  end
end
