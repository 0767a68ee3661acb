# frozen_string_literal: true

# The measuring method of the companion's cost benchmarks (ruby/bench/cost.rb,
# and tools/companion-rails-cost.rb in the mod_memtrack tree): an app called
# directly and through the middleware, interleaved one call by one so that
# both see the same GC and cache state; printed are the median and p99 of
# each and of the difference of each pair, in microseconds.
module MemTrackBench
  module_function

  # env:    makes the env of one request (not timed)
  # clock:  a Process clock id: CLOCK_MONOTONIC (elapsed) or
  #         CLOCK_THREAD_CPUTIME_ID (this thread's CPU time)
  # finish: given the response, finishes it (timed), e.g. reads and closes
  #         the body
  def compare(label, bare_app, with_app, requests, env:, warmup: 2_000,
              clock: Process::CLOCK_MONOTONIC, finish: nil)
    one = lambda do |app|
      e = env.call
      t = Process.clock_gettime(clock, :float_microsecond)
      res = app.call(e)
      finish&.call(res)
      Process.clock_gettime(clock, :float_microsecond) - t
    end
    warmup.times { one.call(bare_app); one.call(with_app) }
    bare = []
    with = []
    requests.times do
      bare << one.call(bare_app)
      with << one.call(with_app)
    end
    diff = with.zip(bare).map { |w, b| w - b }.sort
    bare.sort!
    with.sort!
    printf("%-22s bare %6.2f/%7.2f  with %6.2f/%7.2f  cost %6.2f/%7.2f us (median/p99)\n",
           label, pct(bare, 0.5), pct(bare, 0.99), pct(with, 0.5), pct(with, 0.99),
           pct(diff, 0.5), pct(diff, 0.99))
  end

  def pct(sorted, q)
    sorted[[(sorted.size * q).ceil - 1, 0].max]
  end
end
