# frozen_string_literal: true

require_relative "helper"

class TestMemTrackRack < Minitest::Test
  include MemTrackTestHelper

  def test_header_has_pid_memory_and_gc_counters
    mw = MemTrack::Rack.new(ok_app, smaps_every: 0)
    status, headers, body = call_app(mw)
    assert_equal 200, status
    assert_equal ["ok"], body.to_a
    h = parse_strict(header_of(headers))
    assert_equal Process.pid, h["pid"]
    %w[rss gc minor major live old alloc freed].each do |k|
      assert h.key?("#{k}_before"), "#{k}_before missing"
      assert h.key?("#{k}_after"), "#{k}_after missing"
    end
    assert_operator h["rss_after"], :>, 1 << 20
    assert_operator h["alloc_after"], :>=, h["alloc_before"]
    refute h.key?("uss"), "smaps read although smaps_every is 0"
    refute h.key?("qc_before"), "query cache reported without ActiveRecord"
    refute h.key?("controller")
    assert_equal 0, mw.errors
  end

  def test_rss_matches_statm
    mw = MemTrack::Rack.new(ok_app, smaps_every: 0)
    h = parse_strict(header_of(call_app(mw)[1]))
    pages = File.read("/proc/self/statm").split[1].to_i
    expect = pages * Etc.sysconf(Etc::SC_PAGESIZE)
    assert_in_delta expect, h["rss_after"], 4 << 20
  end

  # statm is read into a reused per-thread buffer and parsed by hand: the
  # same answers as /\A\d+ (\d+)/, and threads never see each other's.
  def test_statm_parse_and_threads
    ps = MemTrack::Rack::ProcSelf.new
    {
      "3400 1279 1 0 16765 0\n" => 1279, "1 2" => 2, "12 0" => 0,
      "" => nil, " 12 3" => nil, "12  3" => nil, "x 3" => nil, "12" => nil,
      "12 x" => nil, "1a 3" => nil
    }.each do |text, pages|
      got = ps.send(:resident_pages, +text)
      pages.nil? ? assert_nil(got, text.inspect) : assert_equal(pages, got, text.inspect)
    end
    main = ps.rss_bytes
    other = Thread.new { [ps.rss_bytes, Thread.current[MemTrack::Rack::STATM_BUF]] }.value
    assert_in_delta main, other[0], 4 << 20
    refute_same Thread.current[MemTrack::Rack::STATM_BUF], other[1]
  end

  # Per request the middleware allocates a handful of objects (the samples,
  # the header), none per GC counter or /proc read.
  def test_few_objects_per_request
    app = lambda do |env|
      env["memtrack.controller"] = "C"
      env["memtrack.action"] = "a"
      [200, {}, ["ok"]]
    end
    mw = MemTrack::Rack.new(app, smaps_every: 0)
    envs = Array.new(201) { {} }
    [app, mw].each { |a| a.call({}) }
    counts = [app, mw].map do |a|
      before = GC.stat(:total_allocated_objects)
      envs.each { |e| a.call(e.dup) }
      (GC.stat(:total_allocated_objects) - before).fdiv(envs.size)
    end
    assert_operator counts[1] - counts[0], :<=, 8, "objects per request: #{counts.inspect}"
  end

  # One block above glibc's largest mmap threshold (32 MiB) is always fresh
  # pages, so RSS grows by its size whatever the heap held before; with GC
  # off, nothing else is freed meanwhile.
  def test_retained_memory_shows_in_rss_and_objects
    kept = []
    app = lambda do |_env|
      kept << ("x" * (40 << 20))
      20_000.times { |i| kept << "s#{i}" }
      [200, {}, ["ok"]]
    end
    mw = MemTrack::Rack.new(app, smaps_every: 0)
    GC.disable
    h = parse_strict(header_of(call_app(mw)[1]))
    assert_operator h["rss_after"] - h["rss_before"], :>=, 36 << 20
    assert_operator h["alloc_after"] - h["alloc_before"], :>=, 20_000
    assert_operator h["live_after"], :>, 0
  ensure
    GC.enable
    kept.clear
  end

  def test_gc_counts_when_app_runs_gc
    app = ->(_env) { GC.start; [200, {}, []] }
    h = parse_strict(header_of(call_app(MemTrack::Rack.new(app, smaps_every: 0))[1]))
    assert_operator h["gc_after"], :>, h["gc_before"]
    assert_operator h["major_after"], :>, h["major_before"]
  end

  def test_passes_status_headers_and_body_through
    body = Rack::BodyProxy.new(["a", "b"]) {}
    app = ->(_env) { [304, { "ETag" => "\"x\"" }, body] }
    status, headers, out = call_app(MemTrack::Rack.new(app))
    assert_equal 304, status
    assert_equal "\"x\"", headers["ETag"]
    assert_same body, out
  end

  def test_app_exception_propagates_unchanged
    err = Class.new(StandardError)
    app = ->(_env) { raise err, "boom" }
    assert_raises(err) { call_app(MemTrack::Rack.new(app)) }
  end

  def test_internal_failures_never_reach_the_app
    mw = MemTrack::Rack.new(ok_app, smaps_every: 1)
    broken = Object.new
    def broken.rss_bytes = raise(IOError, "gone")
    def broken.smaps = raise(Errno::ENOENT, "no smaps")
    mw.instance_variable_set(:@proc, broken)
    status, headers, = call_app(mw)
    assert_equal 200, status
    h = parse_strict(header_of(headers))
    refute h.key?("rss_after")
    refute h.key?("uss")
    assert h.key?("gc_after")
    assert_operator mw.errors, :>=, 2
  end

  def test_no_header_when_headers_unusable_but_request_goes_on
    app = ->(_env) { [200, Object.new.freeze, ["ok"]] }
    mw = MemTrack::Rack.new(app)
    status, _h, body = call_app(mw)
    assert_equal 200, status
    assert_equal ["ok"], body
    assert_equal 1, mw.errors
  end

  def test_frozen_headers_are_copied
    app = ->(_env) { [200, { "A" => "b" }.freeze, ["ok"]] }
    _s, headers, = call_app(MemTrack::Rack.new(app))
    assert_equal "b", headers["A"]
    parse_strict(header_of(headers))
  end

  def test_nested_instances_measure_once
    inner = MemTrack::Rack.new(ok_app)
    outer = MemTrack::Rack.new(inner)
    _s, headers, _b, env = call_app(outer)
    assert env[MemTrack::Rack::ACTIVE_ENV]
    parse_strict(header_of(headers))
    assert_equal 1, outer.instance_variable_get(:@requests)
    assert_equal 0, inner.instance_variable_get(:@requests)
  end

  def test_lint_and_head
    app = Rack::Lint.new(MemTrack::Rack.new(Rack::Head.new(Rack::Lint.new(ok_app))))
    res = Rack::MockRequest.new(app).request("HEAD", "/x")
    assert_equal 200, res.status
    parse_strict(res.headers[MemTrack::Rack::HEADER])
  end

  def test_smaps_every_n
    mw = MemTrack::Rack.new(ok_app, smaps_every: 3)
    seen = 6.times.map { parse_strict(header_of(call_app(mw)[1])).key?("uss") }
    assert_equal [true, false, false, true, false, false], seen
    h = parse_strict(header_of(call_app(MemTrack::Rack.new(ok_app, smaps_every: 1))[1]))
    assert_operator h["uss"], :>, 0
    assert_operator h["pss"], :>, 0
    assert_operator h["uss"], :<=, h["rss_after"] + (1 << 20)
  end

  def test_smaps_env_default_and_zero
    old = ENV["MEMTRACK_SMAPS_EVERY"]
    ENV.delete("MEMTRACK_SMAPS_EVERY")
    assert_equal 100, MemTrack::Rack.new(ok_app).smaps_every
    ENV["MEMTRACK_SMAPS_EVERY"] = "0"
    assert_equal 0, MemTrack::Rack.new(ok_app).smaps_every
    ENV["MEMTRACK_SMAPS_EVERY"] = "junk"
    assert_equal 100, MemTrack::Rack.new(ok_app).smaps_every
  ensure
    ENV["MEMTRACK_SMAPS_EVERY"] = old
  end

  # The limit is per whole second of the monotonic clock, which the test
  # sets itself: no run can straddle a second by chance.
  def test_smaps_when_module_asks_with_rate_limit
    mw = MemTrack::Rack.new(ok_app, smaps_every: 0, smaps_want_per_sec: 3)
    now = 1000.2
    mw.define_singleton_method(:monotonic_now) { now }
    want = { "HTTP_X_MEMTRACK_WANT" => "smaps" }
    with_uss = ->(n) { n.times.count { parse_strict(header_of(call_app(mw, want)[1])).key?("uss") } }
    refute parse_strict(header_of(call_app(mw)[1])).key?("uss"), "not asked"
    assert_equal 3, with_uss.call(10), "3 of 10 in one second"
    now = 1000.9
    assert_equal 0, with_uss.call(2), "none more in the same second"
    now = 1001.0
    assert_equal 3, with_uss.call(5), "3 again in the next"
    assert_equal 0, mw.errors, mw.last_error.inspect
  end

  def test_names_from_env
    app = lambda do |env|
      env["memtrack.controller"] = "Admin::ItemsController"
      env["memtrack.action"] = "index"
      [200, {}, []]
    end
    h = parse_strict(header_of(call_app(MemTrack::Rack.new(app))[1]))
    assert_equal "Admin::ItemsController", h["controller"]
    assert_equal "index", h["action"]
  end

  FakeController = Struct.new(:action_name)

  def test_names_from_rails_controller_instance
    app = lambda do |env|
      env["action_controller.instance"] = FakeController.new("show")
      env["action_dispatch.request.path_parameters"] = { controller: "x", action: "y" }
      [200, {}, []]
    end
    h = parse_strict(header_of(call_app(MemTrack::Rack.new(app))[1]))
    assert_equal "TestMemTrackRack::FakeController", h["controller"]
    assert_equal "show", h["action"]
  end

  def test_names_from_path_parameters
    app = lambda do |env|
      env["action_dispatch.request.path_parameters"] = { controller: "admin/line_items", action: "index" }
      [200, {}, []]
    end
    h = parse_strict(header_of(call_app(MemTrack::Rack.new(app))[1]))
    assert_equal "Admin::LineItemsController", h["controller"]
    assert_equal "index", h["action"]
  end

  # Names.clean remembers what it cleaned (by content, frozen): a name the
  # app changes afterwards is neither changed in the memo nor mistaken for
  # the old one, and past CLEAN_MAX names it still cleans.
  def test_cleaned_names_are_remembered_by_content
    names = MemTrack::Rack::Names
    name = +"Memo::Ctl#a"
    assert_equal "Memo::Ctl#a", names.clean(name)
    name << " b;"
    assert_equal "Memo::Ctl#a", names.clean(+"Memo::Ctl#a")
    assert_predicate names.clean(+"Memo::Ctl#a"), :frozen?
    assert_equal "Memo::Ctl#a_b_", names.clean(name)
    names::CLEANED.clear     # room for the long one, whatever ran before
    long = "L" * 500
    assert_equal "L" * 128, names.clean(long)
    refute names::CLEANED.key?(long), "a name over NAME_MAX is not kept"
    (names::CLEAN_MAX + 10).times { |i| assert_equal "n_#{i}", names.clean("n #{i}") }
    assert_operator names::CLEANED.size, :<=, names::CLEAN_MAX
    assert_equal "late_one", names.clean("late one")
  end

  def test_hostile_names_are_sanitised_or_omitted
    clean = MemTrack::Rack::Names.method(:clean)
    assert_equal "a_b__c_", clean.call("a b\"\nc;")
    assert_equal "x" * 128, clean.call("x" * 500)
    assert_equal "caf__", clean.call("café")
    assert_equal "_", clean.call("\xff".b)
    assert_nil clean.call("")
    assert_nil clean.call(nil)
    assert_equal "Foo::Bar#baz/qux.1-2", clean.call("Foo::Bar#baz/qux.1-2")
    app = lambda do |env|
      env["memtrack.controller"] = "x; pid=1\r\nSet-Cookie: a=b" + ("y" * 300)
      env["memtrack.action"] = ""
      [200, {}, []]
    end
    v = header_of(call_app(MemTrack::Rack.new(app))[1])
    h = parse_strict(v)
    assert_equal Process.pid, h["pid"]
    assert_equal 128, h["controller"].size
    refute h.key?("action")
    refute_match(/[\r\n]/, v)
  end

  def test_longest_header_fits
    app = lambda do |env|
      env["memtrack.controller"] = "c" * 1000
      env["memtrack.action"] = "a" * 1000
      [200, {}, []]
    end
    v = header_of(call_app(MemTrack::Rack.new(app, smaps_every: 1))[1])
    parse_strict(v)
    assert_operator v.bytesize, :<, 1024
  end

  def test_fast_and_general_number_paths_agree
    mw = MemTrack::Rack.new(ok_app)
    n = MemTrack::Rack::FIELDS.size
    before = Array.new(n) { |i| 1000 + i }
    after = Array.new(n) { |i| 2000 + i }
    fast = mw.send(:all_numbers, before, after)
    refute_nil fast
    assert_equal mw.send(:numbers_one_by_one, before, after), fast
    assert_equal n * 2 + 2, parse_strict(fast).size

    # A missing or out-of-range value: the general path, which leaves it out.
    [nil, -1, MemTrack::Rack::MAX_NUM + 1, "7"].each do |bad|
      b = before.dup
      b[1] = bad
      assert_nil mw.send(:all_numbers, b, after), "fast path refuses #{bad.inspect}"
      h = parse_strict(mw.send(:numbers_one_by_one, b, after))
      refute h.key?("#{MemTrack::Rack::FIELDS[1]}_before"), "#{bad.inspect} left out"
      assert_equal after[1], h["#{MemTrack::Rack::FIELDS[1]}_after"]
    end
    assert_nil mw.send(:all_numbers, nil, after), "no before sample"
    assert_nil mw.send(:all_numbers, before, []), "no after sample"
  end

  def test_threads_share_one_instance
    mw = MemTrack::Rack.new(ok_app, smaps_every: 7)
    values = Queue.new
    8.times.map do
      Thread.new { 50.times { values << header_of(call_app(mw)[1]) } }
    end.each(&:join)
    assert_equal 400, values.size
    with_uss = values.size.times.count { parse_strict(values.pop).key?("uss") }
    assert_equal 58, with_uss, "every 7th of 400 requests, however threads interleave"
    assert_equal 0, mw.errors
  end

  def test_reopens_statm_after_fork
    mw = MemTrack::Rack.new(ok_app, smaps_every: 0)
    call_app(mw) # opens statm in the parent
    rd, wr = IO.pipe
    pid = fork do
      rd.close
      ballast = "z" * (64 << 20) # child-only growth the parent does not have
      h = header_of(call_app(mw)[1])
      wr.write("#{h}|#{File.read('/proc/self/statm').split[1]}|#{ballast.size}")
      wr.close
      exit!(0)
    end
    wr.close
    v, pages, = rd.read.split("|")
    Process.wait(pid)
    h = parse_strict(v)
    assert_equal pid, h["pid"]
    assert_in_delta pages.to_i * Etc.sysconf(Etc::SC_PAGESIZE), h["rss_after"], 8 << 20
  end
end
