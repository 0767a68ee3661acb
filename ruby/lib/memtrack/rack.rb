# frozen_string_literal: true

require "etc"
require_relative "version"
require_relative "probe"
require_relative "heap"

module MemTrack
  # Rack middleware that tells mod_memtrack which process served a request
  # and what the process saw, through one response header:
  #
  #   X-MemTrack: v=1; pid=4242; rss_before=...; rss_after=...; gc_before=...
  #
  # (keys: include/mt_proto.h and ruby/README.md). Per request it reads seven
  # GC.stat counters and its own /proc/self/statm through a descriptor that
  # stays open, twice; no heap walks. Private/proportional memory
  # (/proc/self/smaps_rollup, hundreds of microseconds) is read only every
  # Nth request or when mod_memtrack asks with "X-MemTrack-Want: smaps".
  #
  # The "after" side is measured when the app returns its triple, before the
  # body is iterated: a streamed body's work is not in the numbers, and the
  # header has to be final at that point anyway.
  #
  # mod_memtrack's requests come in "X-MemTrack-Want", a ";"-separated list:
  # "smaps" (read smaps_rollup now), "probe=T; ps=N" (measure what this
  # request leaves behind, see probe.rb), "heap=T; heap_pid=P; heap_step=S;
  # heap_dir=D; heap_max=M" (a heap snapshot of this process, see heap.rb).
  #
  # Nothing here raises into the app: every failure is swallowed and counted
  # (#errors), and the request goes on without (part of) the header.
  class Rack
    HEADER      = "X-MemTrack"
    WANT_ENV    = "HTTP_X_MEMTRACK_WANT"
    ACTIVE_ENV  = "memtrack.active"       # set while an instance is in the stack
    NAME_CHARS  = %r{[^A-Za-z0-9_:/.#-]}
    NAME_RE     = %r{\A[A-Za-z0-9_:/.#-]{1,128}\z}
    NAME_MAX    = 128
    MAX_NUM     = 1 << 50                 # MT_PROTO_MAX_NUM
    # protocol key prefix => GC.stat key; only keys this Ruby knows are kept.
    GC_KEYS = {
      "gc" => :count, "minor" => :minor_gc_count, "major" => :major_gc_count,
      "live" => :heap_live_slots, "old" => :old_objects,
      "alloc" => :total_allocated_objects, "freed" => :total_freed_objects
    }.select { |_, k| GC.stat.key?(k) }.freeze
    GC_STAT_KEYS = GC_KEYS.values.freeze
    # Sample layout and the header labels that go with it.
    FIELDS = ["rss", *GC_KEYS.keys, "qc"].freeze
    LABELS_BEFORE = FIELDS.map { |f| "; #{f}_before=".freeze }.freeze
    LABELS_AFTER = FIELDS.map { |f| "; #{f}_after=".freeze }.freeze
    # Items are joined by "; ", the form DESIGN.md gives the protocol (the
    # module accepts a bare ";" too, which would save 19 bytes of the
    # /hello header and some 400 instructions in httpd, but other readers
    # of the header may expect the documented form).
    # The memory and GC part in one format call, for the usual request where
    # every one of those values is there and in range (half the cost of
    # appending them one by one). The query cache (last field) is added
    # apart: it is nil in every app without ActiveRecord.
    MEM_GC_FIELDS = FIELDS.size - 1
    REPORT_FORMAT = (+"v=#{PROTOCOL_VERSION}; pid=%d").tap do |f|
      FIELDS.first(MEM_GC_FIELDS).each { |k| f << "; #{k}_before=%d; #{k}_after=%d" }
    end.freeze
    # One X-MemTrack-Want item with a number; the numbers' ranges are checked
    # after (a token is 1..MAX_NUM, ps 1..Probe::PS_MAX).
    WANT_ITEM   = /\A(probe|ps)[ \t]*=[ \t]*(\d{1,16})\z/
    HEAP_ITEM   = /\A(heap|heap_pid|heap_step|heap_max)[ \t]*=[ \t]*(\d{1,16})\z/
    HEAP_DIR    = /\Aheap_dir[ \t]*=[ \t]*(\S{1,200})\z/
    # What the module asked for: smaps now, a probe token, probes per second,
    # a heap snapshot (Heap::Ask, nil when not asked).
    Want = Struct.new(:smaps, :token, :ps, :heap)
    SMAPS_FILE  = "/proc/self/smaps_rollup"
    STATM_FILE  = "/proc/self/statm"
    STATM_BUF   = :__memtrack_statm_buf   # Thread#[] key: ProcSelf's buffer
    WANT_BUF    = :__memtrack_want        # Thread#[] key: call's Want

    attr_reader :errors, :last_error, :smaps_every, :probe, :heap

    # smaps_every: read smaps_rollup every Nth request (0 = never, except when
    #   the module asks); default ENV["MEMTRACK_SMAPS_EVERY"] or 100.
    # smaps_want_per_sec: how many module requests for smaps are honoured per
    #   second and process, so a client that reaches the app without the
    #   module in front cannot make every request pay for smaps_rollup.
    # probe: false turns probes off; default: on unless ENV["MEMTRACK_PROBE"]
    #   is "0".
    # probe_budget: fraction of wall time the probes' full GCs may take, in
    #   (0, 1]; default ENV["MEMTRACK_PROBE_BUDGET"] or 0.02.
    # heap: a Heap (tests); default Heap.from_env (MEMTRACK_HEAP*).
    def initialize(app, smaps_every: nil, smaps_want_per_sec: 20, probe: nil,
                   probe_budget: nil, heap: nil)
      @app = app
      every = smaps_every || ENV.fetch("MEMTRACK_SMAPS_EVERY", "100")
      @smaps_every = [Integer(every.to_s, 10), 0].max rescue 100
      @want_per_sec = smaps_want_per_sec.to_i
      @want_window = 0
      @want_used = 0
      @requests = 0
      @errors = 0
      @last_error = nil
      @proc = ProcSelf.new
      @header = header_name
      @probe = Probe.new(enabled: probe.nil? ? ENV["MEMTRACK_PROBE"] != "0" : probe,
                         budget: probe_budget || budget_from_env)
      @heap = heap || Heap.from_env
    end

    def call(env)
      return @app.call(env) if env[ACTIVE_ENV]

      # A probe's before (at this request's start) and its after (at the
      # next one's) must see the same objects of ours: the header's string
      # leaves the env (the app has no use for it), and its items go into
      # this fiber's one Want, which the next request's side holds as well.
      # Else each probe counted the two as freed: -2 objects, -80 bytes.
      want = env.delete(WANT_ENV)
      want &&= safely { parse_want(want, Thread.current[WANT_BUF] ||= Want.new) }
      # Before the "before" sample, so the request's own GC counters and
      # rss_before do not include the probe's full GC.
      probe = safely { @probe.at_start(want&.token, want&.ps) } if want || @probe.pending?
      probe = heap_items(probe, want&.heap) if want&.heap || @heap.tracing?
      before = safely do
        env[ACTIVE_ENV] = true
        sample
      end
      res = @app.call(env)
      safely { set_header(res, report(env, before, want, probe)) }
      res
    end

    # The X-MemTrack value for this request; public for tests and the bench.
    # want: the parsed X-MemTrack-Want (parse_want); probe: the probe items
    # Probe#at_start returned.
    def report(env, before, want = want_of(env), probe = nil)
      after = safely { sample } || []
      out = all_numbers(before, after) || numbers_one_by_one(before, after)
      out << probe if probe
      add_smaps(out) if smaps_now?(want)
      add_names(out, env)
      out
    end

    # An X-MemTrack-Want value as a Want (the one given, cleared first).
    # Items are separated by ";", spaces around them are ignored, unknown or
    # malformed items too; of a key given twice the first valid one counts.
    def parse_want(value, want = Want.new)
      want.smaps = false
      want.token = want.ps = want.heap = nil
      value.to_s.split(";") do |item|
        item = item.strip
        if item == "smaps"
          want.smaps = true
        elsif (m = WANT_ITEM.match(item))
          want_number(want, m[1], m[2].to_i)
        elsif item.start_with?("heap")
          want_heap(want, item)
        end
      end
      want
    end

    private

    # The heap snapshot's items after the probe's (both may be nil).
    def heap_items(probe, ask)
      heap = safely { @heap.at_start(ask) }
      return probe unless heap

      probe ? probe + heap : heap
    end

    def want_heap(want, item)
      if (m = HEAP_ITEM.match(item))
        ask = (want.heap ||= Heap::Ask.new)
        n = m[2].to_i
        case m[1]
        when "heap" then ask.token ||= n if n >= 1 && n <= MAX_NUM
        when "heap_pid" then ask.pid ||= n
        when "heap_step" then ask.step ||= n if n <= 3
        else ask.max ||= n
        end
      elsif (m = HEAP_DIR.match(item))
        (want.heap ||= Heap::Ask.new).dir ||= m[1]
      end
    end

    def want_number(want, key, n)
      if key == "probe"
        want.token ||= n if n >= 1 && n <= MAX_NUM
      elsif n >= 1 && n <= Probe::PS_MAX
        want.ps ||= n
      end
    end

    def want_of(env)
      value = env[WANT_ENV]
      value && parse_want(value)
    end

    def budget_from_env
      b = Float(ENV.fetch("MEMTRACK_PROBE_BUDGET", Probe::BUDGET_DEFAULT.to_s))
      b.positive? && b <= 1 ? b : Probe::BUDGET_DEFAULT
    rescue ArgumentError, TypeError
      Probe::BUDGET_DEFAULT
    end

    def header_name
      rel = defined?(::Rack::RELEASE) ? ::Rack::RELEASE.to_s.to_i : 2
      rel >= 3 ? HEADER.downcase : HEADER  # Rack 3 wants lower-case names
    end

    def set_header(res, value)
      headers = res[1]
      if headers.frozen?
        res[1] = headers.merge(@header => value)
      else
        headers[@header] = value
      end
    end

    # Values in FIELDS order: rss, the GC counters, query cache entries.
    def sample
      s = Array.new(FIELDS.size)
      s[0] = safely { @proc.rss_bytes }
      i = 1
      GC_STAT_KEYS.each do |k|
        s[i] = GC.stat(k)
        i += 1
      end
      s[i] = safely { QueryCache.entries }
      s
    end

    # Every number of the header, or nil when a memory or GC value is
    # missing or out of range (numbers_one_by_one then leaves it out).
    def all_numbers(before, after)
      return nil unless before && after.size == FIELDS.size

      args = [Process.pid]
      i = 0
      while i < MEM_GC_FIELDS
        b = before[i]
        a = after[i]
        return nil unless b.is_a?(Integer) && b >= 0 && b <= MAX_NUM &&
                          a.is_a?(Integer) && a >= 0 && a <= MAX_NUM

        args << b << a
        i += 1
      end
      out = REPORT_FORMAT % args   # as format(F, *args), without the splat's copy
      add_num(out, LABELS_BEFORE[i], before[i])
      add_num(out, LABELS_AFTER[i], after[i])
      out
    end

    def numbers_one_by_one(before, after)
      out = +"v=#{PROTOCOL_VERSION}; pid=#{Process.pid}"
      i = 0
      while i < FIELDS.size
        add_num(out, LABELS_BEFORE[i], before[i]) if before
        add_num(out, LABELS_AFTER[i], after[i])
        i += 1
      end
      out
    end

    def add_num(out, label, val)
      return unless val.is_a?(Integer) && val >= 0 && val <= MAX_NUM

      out << label << val.to_s
    end

    def smaps_now?(want)
      # One read of the counter: threads (Puma) share this instance, and a
      # second read could see another request's increment.
      n = (@requests += 1)
      return true if @smaps_every.positive? && ((n - 1) % @smaps_every).zero?
      return false unless want&.smaps

      want_allowed?
    end

    def want_allowed?
      now = monotonic_now.to_i
      if now != @want_window
        @want_window = now
        @want_used = 0
      end
      @want_used += 1
      @want_used <= @want_per_sec
    end

    def monotonic_now
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end

    def add_smaps(out)
      uss, pss = safely { @proc.smaps }
      add_num(out, "; uss=", uss)
      add_num(out, "; pss=", pss)
    end

    def add_names(out, env)
      # The names the app set itself need no lookup (nor the pair's Array).
      controller = env["memtrack.controller"]
      if controller
        action = env["memtrack.action"]
      else
        controller, action = safely { Names.of(env) }
      end
      controller = Names.clean(controller)
      action = Names.clean(action)
      out << "; controller=" << controller if controller
      out << "; action=" << action if action
    end

    def safely
      yield
    rescue StandardError => e
      @errors += 1
      @last_error = e
      nil
    end

    # This process's own /proc files. statm stays open; after a fork (a
    # Passenger smart-spawn preloader, Unicorn) /proc/self of the old
    # descriptor still names the parent, so it is reopened when the pid changes.
    class ProcSelf
      def initialize
        @pid = nil
        @statm = nil
        @page = page_bytes
      end

      def rss_bytes
        reopen if @pid != Process.pid
        # Read into a buffer of this thread (fiber) that is reused: no new
        # String, MatchData or substring per request (each one later work
        # for the GC). Threads sharing this instance each have their own.
        buf = (Thread.current[STATM_BUF] ||= String.new(capacity: 128))
        @statm.pread(96, 0, buf)
        pages = resident_pages(buf)
        pages && pages * @page
      end

      # [uss, pss] in bytes from smaps_rollup (Linux 4.14+).
      def smaps
        pss = 0
        uss = 0
        File.foreach(SMAPS_FILE) do |line|
          if line.start_with?("Pss:")
            pss = kib(line)
          elsif line.start_with?("Private_Clean:", "Private_Dirty:")
            uss += kib(line)
          end
        end
        [uss, pss]
      end

      private

      # The second field of statm, as /\A\d+ (\d+)/ would take it, or nil;
      # the buffer loses its first field.
      def resident_pages(buf)
        i = 0
        i += 1 while (c = buf.getbyte(i)) && c >= 48 && c <= 57
        return nil if i.zero? || c != 32

        c = buf.getbyte(i + 1)
        return nil unless c && c >= 48 && c <= 57

        buf[0, i + 1] = ""
        buf.to_i
      end

      def kib(line)
        line[/\d+/].to_i * 1024
      end

      def reopen
        old = @statm
        @statm = File.open(STATM_FILE, "rb")
        @pid = Process.pid
        old&.close
      rescue StandardError
        @statm = old
        raise
      end

      def page_bytes
        (Etc.respond_to?(:sysconf) && Etc.sysconf(Etc::SC_PAGESIZE)) || 4096
      rescue StandardError
        4096
      end
    end

    # Controller and action: set by the app in env["memtrack.controller"] and
    # env["memtrack.action"], or found from Rails' controller instance or,
    # failing that, its routing parameters.
    module Names
      module_function

      def of(env)
        c = env["memtrack.controller"]
        a = env["memtrack.action"]
        return [c, a] if c

        inst = env["action_controller.instance"]
        if inst
          a ||= inst.action_name if inst.respond_to?(:action_name)
          return [inst.class.name, a]
        end
        from_path_parameters(env["action_dispatch.request.path_parameters"], a)
      end

      def from_path_parameters(params, action)
        return [nil, action] unless params.is_a?(Hash)

        ctl = params[:controller] || params["controller"]
        action ||= params[:action] || params["action"]
        [ctl && class_name(ctl.to_s), action]
      end

      # "admin/line_items" => "Admin::LineItemsController", like Rails logs.
      def class_name(path)
        path.split("/").map { |s| s.split("_").map(&:capitalize).join }.join("::") + "Controller"
      end

      # Names already cleaned, by content: an app has a few dozen
      # controllers and actions, and the regexp check was 2,000 of the
      # companion's instructions a name, a lookup here is some 300. Bounded:
      # past CLEAN_MAX names, new ones are cleaned each time, and a name
      # longer than NAME_MAX is never kept (at most 256 x 128 bytes of
      # keys). Threads may race on an insert; both store the same value
      # (CRuby's lock makes each Hash access whole).
      CLEAN_MAX = 256
      CLEANED = {}

      # A name that fits [A-Za-z0-9_:/.#-]{1,128}, or nil.
      def clean(name)
        return nil if name.nil?

        s = name.is_a?(String) ? name : name.to_s
        c = CLEANED[s]
        return c if c

        c = clean_now(s)
        # Frozen: the app's own string may change after this request.
        if c && s.bytesize <= NAME_MAX && CLEANED.size < CLEAN_MAX
          CLEANED[-s] = -c      # the key frozen too (a String subclass's)
        end
        c
      end

      def clean_now(s)
        return s if NAME_RE.match?(s)

        s = s.b.gsub(NAME_CHARS, "_")[0, NAME_MAX]
        s.empty? ? nil : s
      end
    end

    # Entries in ActiveRecord's query cache of the connections this thread
    # holds; nil when ActiveRecord is not loaded or has no pools. A thread
    # that holds no connection has no cached queries, which is a true 0.
    module QueryCache
      POOLS_TTL = 1.0 # seconds a handler's pool list is reused
      @pools = nil    # [handler, monotonic time, pools], swapped whole

      module_function

      def entries
        return nil unless defined?(::ActiveRecord::Base)

        base = ::ActiveRecord::Base
        return nil unless base.respond_to?(:connection_handler)

        pools = pools_of(base.connection_handler)
        return nil if pools.empty?

        pools.sum { |pool| pool.active_connection? ? size(pool.connection) : 0 }
      end

      # connection_pool_list builds a new array on every call (3 us in Rails
      # 6.1, most of what this module costs per request, and it is asked
      # twice); pools come and go only with establish_connection, so one
      # handler's list is kept for POOLS_TTL. A pool removed meanwhile has no
      # active connection and counts 0. The cache entry is one frozen array,
      # so threads racing here each see a consistent entry.
      def pools_of(handler)
        now = Process.clock_gettime(Process::CLOCK_MONOTONIC)
        c = @pools
        if c.nil? || !c[0].equal?(handler) || now - c[1] > POOLS_TTL
          c = [handler, now, handler.connection_pool_list].freeze
          @pools = c
        end
        c[2]
      end

      # Rails 6.1/7.0: {sql => {binds => result}}; 7.1+: a store with #size.
      def size(conn)
        return 0 unless conn.respond_to?(:query_cache)

        qc = conn.query_cache
        case qc
        when nil then 0
        when Hash then qc.sum { |_, v| v.respond_to?(:size) ? v.size : 1 }
        else qc.respond_to?(:size) ? qc.size : 0
        end
      end
    end
  end
end
