# frozen_string_literal: true

# What the heap diff costs a Rails process of a given size:
#
#   ruby -Iruby/lib tools/companion-heap-cost.rb [MB ...]   (default 100 300)
#
# Loads the Rails test app (t/apps/rails, production, its sqlite database in
# a temporary directory), grows the process with the ballast of
# tools/rails-cost-app.rb (records of a hash, three strings, an array and a
# time) until its RSS reaches each size, and then runs one attempt through
# MemTrack::Rack the way mod_memtrack asks for it: snapshot 1, 200 requests
# of GET /items and GET /hoard (one 20,000-byte string kept each), snapshot
# 2, 200 more, snapshot 3; then diffs the three files with
# build/memtrack-heapdiff (the module's core). Printed per size: live
# objects and RSS before snapshot 1, each snapshot's pause and file size,
# the diff's time and peak memory and its first row, and then what
# allocation tracing costs: the median GET /items with tracing off and on,
# and the time of one allocation (a million short strings) off and on
# (measured after the attempt: it grows the heap). Not a throughput run.
require_relative "rails-cost-app"
require "open3"
require "objspace"

REQUESTS = 200
ROOT = File.expand_path("..", __dir__)
DIFF = File.join(ROOT, "build", "memtrack-heapdiff")
SNAPS = File.join(ENV["MT_APP_DATA"], "heap")

def median(a)
  s = a.sort
  s[s.size / 2]
end

def snapshot(mw, token, step)
  h = request(mw, "/items", "heap=#{token}; heap_pid=#{Process.pid}; heap_step=#{step}; " \
                            "heap_dir=#{SNAPS}; heap_max=#{4 << 30}")
  gc = h[/heap_gc=(\d+)/, 1] or abort "snapshot #{step} refused: #{h}"
  [gc.to_i, h[/heap_bytes=(\d+)/, 1].to_i, h[/heap_us=(\d+)/, 1].to_i]
end

def timed_requests(mw, n)
  Array.new(n) do
    t = now_us
    request(mw, "/items")
    now_us - t
  end
end

def alloc_ns
  t = now_us
  x = nil
  1_000_000.times { |i| x = "s#{i}" }
  x && (now_us - t) * 1000 / 1_000_000
end

def tracing_cost(mw)
  off = median(timed_requests(mw, 200))
  a_off = median(Array.new(3) { alloc_ns })
  ObjectSpace.trace_object_allocations_start
  on = median(timed_requests(mw, 200))
  a_on = median(Array.new(3) { alloc_ns })
  ObjectSpace.trace_object_allocations_stop
  ObjectSpace.trace_object_allocations_clear
  [off, on, a_off, a_on]
end

# The diff's wall time and peak RSS (through GNU time when installed: the
# "time" package; without it the peak is not known, printed as 0).
def diff(files, g1, g2)
  cmd = [DIFF, "--gen1", g1.to_s, "--gen2", g2.to_s, "--root", Rails.root.to_s, "--text", *files]
  timer = File.executable?("/usr/bin/time") ? ["/usr/bin/time", "-f", "%e %M"] : []
  t = now_us
  out, err, st = Open3.capture3(*timer, *cmd)
  abort "diff failed: #{err}" unless st.success?
  secs, kb = timer.empty? ? [(now_us - t) / 1e6, 0] : err.lines.last.split.map(&:to_f)
  [secs, kb / 1024, out.lines[2].to_s.strip]
end

mw = MemTrack::Rack.new(Rails.application, smaps_every: 0, probe: false,
                        heap: MemTrack::Rack::Heap.new(interval: 0))
puts "Rails #{Rails.version}, ruby #{RUBY_VERSION}; #{REQUESTS} requests of /items and " \
     "#{REQUESTS} of /hoard between snapshots"
token = 0
SIZES.each do |mb|
  grow_to(mb)
  5.times { request(mw, "/items") }
  GC.start
  live = GC.stat(:heap_live_slots)
  rss = rss_mb
  token += 1
  s1 = snapshot(mw, token, 1)
  REQUESTS.times { request(mw, "/items"); request(mw, "/hoard") }
  s2 = snapshot(mw, token, 2)
  REQUESTS.times { request(mw, "/items"); request(mw, "/hoard") }
  s3 = snapshot(mw, token, 3)
  files = (1..3).map { |n| File.join(SNAPS, "memtrack-heap-#{Process.pid}-#{token}-#{n}.json") }
  secs, peak, first = diff(files, s1[0], s2[0])
  request(mw, "/items", "heap=#{token}; heap_pid=#{Process.pid}; heap_step=0; heap_dir=#{SNAPS}")
  off, on, a_off, a_on = tracing_cost(mw)
  printf("%4d MB target: rss %.0f MB, %d live objects\n", mb, rss, live)
  [s1, s2, s3].each_with_index do |(_, bytes, us), i|
    printf("  snapshot %d: pause %.3f s, %.1f MB\n", i + 1, us / 1e6, bytes / 1e6)
  end
  printf("  diff: %.2f s, peak RSS %.0f MB; first: %s\n", secs, peak, first)
  printf("  tracing: GET /items %.0f -> %.0f us (+%.0f%%); one allocation %.0f -> %.0f ns\n",
         off, on, (on / off - 1) * 100, a_off, a_on)
end
warn "companion errors: #{mw.errors} (#{mw.last_error})" if mw.errors.positive?
