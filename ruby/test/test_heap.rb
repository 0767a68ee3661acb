# frozen_string_literal: true

require_relative "helper"
require "json"
require "tmpdir"
require "etc"
require "objspace"

# Heap snapshots for mod_memtrack's heap diff (ruby/lib/memtrack/heap.rb):
# "X-MemTrack-Want: heap=T; heap_pid=P; heap_step=S; heap_dir=D; heap_max=M"
# on a request, the snapshot at its start, the acknowledgement (or the
# error) on its response. Real ObjectSpace.dump_all files in a temporary
# directory; where time matters the Heap's clock is the test's.
class TestMemTrackHeap < Minitest::Test
  include MemTrackTestHelper

  KEEP = [] # what the leaking requests keep, for the life of this process
  LEAK_LINE = __LINE__ + 3
  APP = lambda do |env|
    case env["PATH_INFO"]
    when "/leak" then KEEP << ("k" * 10_000)
    when "/garbage" then 2000.times { |i| "g#{i}" }
    end
    [200, { "Content-Type" => "text/plain" }, ["ok"]]
  end

  def setup
    @tmp = Dir.mktmpdir("mt-heap-test-")
    @dir = File.join(@tmp, "snap")
    @now = 100.0
  end

  def teardown
    FileUtils.remove_entry(@tmp)
    ObjectSpace.trace_object_allocations_stop
  end

  def mw(**opts)
    test = self
    heap = MemTrack::Rack::Heap.new(clock: -> { test.instance_variable_get(:@now) },
                                    interval: 0, **opts)
    MemTrack::Rack.new(APP, smaps_every: 0, probe: false, heap: heap)
  end

  def ask(step, token: 42, pid: Process.pid, dir: @dir, max: nil)
    w = "heap=#{token}; heap_pid=#{pid}; heap_step=#{step}; heap_dir=#{dir}"
    max ? "#{w}; heap_max=#{max}" : w
  end

  # One request; its X-MemTrack header parsed as the module would.
  def req(m, want = nil, path = "/x")
    env = want ? { "HTTP_X_MEMTRACK_WANT" => want } : {}
    status, headers, = m.call(Rack::MockRequest.env_for(path, env))
    assert_equal 200, status
    parse_strict(header_of(headers))
  end

  def heap_keys(h)
    h.select { |k, _| k.start_with?("heap") }
  end

  def snap(step, token: 42)
    File.join(@dir, "memtrack-heap-#{Process.pid}-#{token}-#{step}.json")
  end

  def lines(path)
    File.readlines(path).map { |l| JSON.parse(l) }
  end

  # --- the cycle ------------------------------------------------------------

  def test_three_snapshots_and_what_the_requests_between_kept
    m = mw
    h = req(m, ask(1))
    assert_equal [42, 1], [h["heap"], h["heap_step"]], h.inspect
    g1 = h["heap_gc"]
    assert_operator h["heap_bytes"], :>, 100_000, "snapshot 1 is the whole heap"
    assert_equal File.size(snap(1)), h["heap_bytes"]
    assert_equal 0o700, File.stat(@dir).mode & 0o777, "the directory is made 0700"
    assert_equal 0o600, File.stat(snap(1)).mode & 0o777
    assert m.heap.tracing?, "allocations are traced after snapshot 1"
    10.times { req(m, nil, "/leak") }
    5.times { req(m, nil, "/garbage") }
    h = req(m, ask(2))
    assert_equal 2, h["heap_step"]
    g2 = h["heap_gc"]
    assert_operator g2, :>, g1
    10.times { req(m, nil, "/leak") }
    h = req(m, ask(3))
    assert_equal 3, h["heap_step"]
    refute m.heap.tracing?, "tracing stops after snapshot 3"
    two = lines(snap(2))
    assert two.all? { |o| o["generation"].to_i >= g1 }, "snapshot 2 holds only objects born after 1"
    three = lines(snap(3))
    kept = three.select do |o|
      o["file"] == __FILE__ && o["line"] == LEAK_LINE && o["type"] == "STRING" &&
        o["generation"] >= g1 && o["generation"] < g2
    end
    assert_equal 10, kept.size, "the 10 strings kept between 1 and 2 are in 3, with their site"
    assert_equal 0, m.errors, m.last_error.inspect
  end

  def test_only_the_named_process_acts
    m = mw
    h = req(m, ask(1, pid: Process.pid + 1))
    assert_equal({}, heap_keys(h))
    refute File.exist?(@dir), "nothing written"
    refute m.heap.tracing?
  end

  def test_an_ask_seen_again_is_acknowledged_again_without_a_new_snapshot
    m = mw
    first = heap_keys(req(m, ask(1)))
    mtime = File.mtime(snap(1))
    assert_equal first, heap_keys(req(m, ask(1))), "the same items"
    assert_equal 1, m.heap.snapshots
    assert_equal mtime, File.mtime(snap(1))
  end

  def test_stop_ends_tracing_and_removes_the_files
    m = mw
    req(m, ask(1))
    req(m, ask(2))
    h = req(m, ask(0))
    assert_equal [42, 0], [h["heap"], h["heap_step"]]
    refute m.heap.tracing?
    refute File.exist?(snap(1))
    refute File.exist?(snap(2))
    o = Object.new
    assert_nil ObjectSpace.allocation_sourcefile(o), "no longer traced"
  end

  def test_a_new_attempt_replaces_an_old_one_and_sweeps_its_files
    m = mw
    req(m, ask(1, token: 1))
    h = req(m, ask(1, token: 2))
    assert_equal 2, h["heap"]
    refute File.exist?(snap(1, token: 1)), "the old attempt's file is gone"
    assert File.exist?(snap(1, token: 2))
  end

  def test_steps_out_of_order_are_refused
    m = mw
    h = req(m, ask(2))
    assert_equal "sequence", h["heap_error"]
    assert_equal 2, h["heap_step"]
    req(m, ask(1))
    h = req(m, ask(3))
    assert_equal "sequence", h["heap_error"]
    refute m.heap.tracing?, "an error ends the attempt"
    refute File.exist?(snap(1)), "and removes its files"
  end

  # --- limits and errors ----------------------------------------------------

  def test_a_snapshot_over_heap_max_is_cut_off_and_removed
    m = mw
    h = req(m, ask(1, max: 50_000))
    assert_equal "too_big", h["heap_error"]
    refute File.exist?(snap(1)), "the cut file is removed"
    refute m.heap.tracing?
    assert_equal Process::RLIM_INFINITY, Process.getrlimit(:FSIZE)[0], "the limit is restored"
    File.write(File.join(@tmp, "after"), "x" * 100_000)
    assert_equal 100_000, File.size(File.join(@tmp, "after")), "writes are not limited after"
  end

  def test_directories_it_will_not_use
    m = mw
    assert_equal "dir", req(m, ask(1, dir: "relative/dir"))["heap_error"]
    assert_equal "dir", req(m, ask(1, dir: "#{@tmp}/../x"))["heap_error"]
    File.symlink(@tmp, File.join(@tmp, "link"))
    assert_equal "dir", req(m, ask(1, dir: "#{@tmp}/link"))["heap_error"], "a symlink"
    open_dir = File.join(@tmp, "open")
    Dir.mkdir(open_dir)
    File.chmod(0o755, open_dir)
    assert_equal "dir_mode", req(m, ask(1, dir: open_dir))["heap_error"], "others may read"
    assert_equal "dir_missing", req(m, ask(1, dir: "#{@tmp}/no/such"))["heap_error"]
    assert_equal "dir", req(m, ask(1, dir: "#{@tmp}/a b"))["heap_error"], "a space"
    refute m.heap.tracing?
    assert_equal 0, m.errors
  end

  def test_a_directory_of_another_user
    skip "needs root to make a directory of another user" unless Process.euid.zero?
    theirs = File.join(@tmp, "theirs")
    Dir.mkdir(theirs, 0o700)
    File.chown(Etc.getpwnam("nobody").uid, nil, theirs)
    assert_equal "dir_owner", req(mw, ask(1, dir: theirs))["heap_error"]
  end

  def test_group_readable_directory_gives_group_readable_files
    Dir.mkdir(@dir, 0o750)
    File.chmod(0o750, @dir)
    req(mw, ask(1))
    assert_equal 0o640, File.stat(snap(1)).mode & 0o777
  end

  def test_disabled
    m = mw(enabled: false)
    assert_equal "disabled", req(m, ask(1))["heap_error"]
    refute File.exist?(@dir)
  end

  def test_one_attempt_per_interval
    test = self
    heap = MemTrack::Rack::Heap.new(clock: -> { test.instance_variable_get(:@now) },
                                    interval: 300)
    m = MemTrack::Rack.new(APP, smaps_every: 0, probe: false, heap: heap)
    assert_equal 1, req(m, ask(1, token: 1))["heap_step"]
    @now += 10
    assert_equal "rate", req(m, ask(1, token: 2))["heap_error"]
    @now += 300
    assert_equal 1, req(m, ask(1, token: 3))["heap_step"]
  end

  def test_tracing_stops_by_itself_after_max_age
    m = mw(max_age: 600)
    req(m, ask(1))
    @now += 599
    req(m)
    assert m.heap.tracing?
    @now += 2
    req(m)
    refute m.heap.tracing?, "the module gave up long ago"
    refute File.exist?(snap(1))
  end

  def test_old_files_are_swept_when_an_attempt_starts
    Dir.mkdir(@dir, 0o700)
    live = Process.ppid
    dead = Process.spawn("true").tap { |pid| Process.wait(pid) }
    old = File.join(@dir, "memtrack-heap-#{live}-9-1.json")
    young = File.join(@dir, "memtrack-heap-#{live}-9-2.json")
    gone = File.join(@dir, "memtrack-heap-#{dead}-9-1.json")
    other = File.join(@dir, "notes.txt")
    [old, young, gone, other].each { |f| File.write(f, "x") }
    File.utime(Time.now - 7200, Time.now - 7200, old)
    req(mw, ask(1))
    refute File.exist?(old), "older than MEMTRACK_HEAP_KEEP"
    refute File.exist?(gone), "of a process that is gone"
    assert File.exist?(young), "another live process's recent snapshot stays"
    assert File.exist?(other), "only snapshot names are touched"
  end

  # --- the want header ------------------------------------------------------

  def test_malformed_heap_items_are_ignored
    m = mw
    ["heap=abc; heap_pid=#{Process.pid}; heap_step=1; heap_dir=#{@dir}",
     "heap=1; heap_pid=#{Process.pid}; heap_step=9; heap_dir=#{@dir}",
     "heap=0; heap_pid=#{Process.pid}; heap_step=1; heap_dir=#{@dir}",
     "heap=1; heap_step=1; heap_dir=#{@dir}",
     "heap=#{1 << 51}; heap_pid=#{Process.pid}; heap_step=1; heap_dir=#{@dir}"].each do |w|
      assert_equal({}, heap_keys(req(m, w)), w)
    end
    refute File.exist?(@dir)
  end

  def test_heap_and_probe_items_together
    heap = MemTrack::Rack::Heap.new(interval: 0)
    m = MemTrack::Rack.new(APP, smaps_every: 0, probe_budget: 1.0, heap: heap)
    h = req(m, "probe=5; ps=100; #{ask(1)}")
    assert_equal 5, h["probe"]
    assert_equal 1, h["heap_step"]
  end

  def test_from_env
    h = MemTrack::Rack::Heap.from_env("MEMTRACK_HEAP" => "0")
    assert_equal "disabled", req(MemTrack::Rack.new(APP, smaps_every: 0, heap: h), ask(1))["heap_error"]
    assert_equal 300, MemTrack::Rack::Heap.seconds("x", 300)
    assert_equal 0, MemTrack::Rack::Heap.seconds("0", 300)
  end
end
