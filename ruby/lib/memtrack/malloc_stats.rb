# frozen_string_literal: true

module MemTrack
  # Bytes that glibc's malloc has handed out and not taken back ("in use"),
  # process-wide (every arena), for the probes (probe.rb). Read through
  # Fiddle, so the gem stays pure Ruby:
  #
  # - Mallinfo2 (x86_64 Linux only): mallinfo2() returns an 80-byte struct by
  #   value, which Fiddle cannot take; on the x86_64 System V ABI such a
  #   struct is returned through a hidden pointer passed as the first integer
  #   argument, so calling it as a function of one pointer argument, with an
  #   80-byte buffer, fills the buffer. In use = uordblks + hblkhd. About
  #   10 us per call here.
  # - MallocInfo (any glibc): malloc_info(0, FILE *) writes XML into an
  #   open_memstream buffer; in use = system current - free (fast + rest) +
  #   mmapped. About 20 us, and it counts its own XML buffer (some KB, the
  #   same every call: differences are unaffected).
  #
  # Freed chunks that sit in a thread's tcache count as in use for both (the
  # allocator sees them so): up to a few KB of noise per thread.
  module MallocStats
    module_function

    # The cheapest reader that works here (#in_use => Integer), or nil when
    # none does (no glibc, no Fiddle): probes then report objects only.
    # A mallinfo2 that disagrees with malloc_info by more than a MiB is not
    # trusted (an ABI this code does not know).
    def reader
      return nil unless fiddle?

      xml = try { MallocInfo.new }
      fast = try { Mallinfo2.new } if Mallinfo2.platform?
      return xml unless fast
      return fast unless xml

      (fast.in_use - xml.in_use).abs < (1 << 20) ? fast : xml
    end

    def fiddle?
      require "fiddle"
      true
    rescue LoadError
      false
    end

    def try
      r = yield
      r.in_use.is_a?(Integer) ? r : nil
    rescue StandardError # Fiddle::DLError (no such function) included
      nil
    end

    def libc
      ::Fiddle::Handle::DEFAULT
    end

    def function(name, args, ret)
      ::Fiddle::Function.new(libc[name], args, ret)
    end

    # glibc >= 2.33 through the hidden struct pointer (see above).
    class Mallinfo2
      SIZE = 80       # struct mallinfo2: ten size_t
      HBLKHD = 32     # bytes in mmapped chunks
      UORDBLKS = 56   # bytes in chunks in use

      def self.platform?
        RUBY_PLATFORM.match?(/\Ax86_64-linux(-gnu)?\z/) && [0].pack("J").bytesize == 8
      end

      def initialize
        p = ::Fiddle::TYPE_VOIDP
        @call = MallocStats.function("mallinfo2", [p], p)
        @buf = ::Fiddle::Pointer.malloc(SIZE, ::Fiddle::RUBY_FREE)
      end

      def in_use
        @call.call(@buf)
        @buf[UORDBLKS, 8].unpack1("J") + @buf[HBLKHD, 8].unpack1("J")
      end
    end

    # malloc_info's XML through open_memstream.
    class MallocInfo
      TOTAL = /<total type="(fast|rest|mmap)" count="\d+" size="(\d+)"/
      CURRENT = /<system type="current" size="(\d+)"/

      def initialize
        p = ::Fiddle::TYPE_VOIDP
        i = ::Fiddle::TYPE_INT
        @open = MallocStats.function("open_memstream", [p, p], p)
        @info = MallocStats.function("malloc_info", [i, p], i)
        @close = MallocStats.function("fclose", [p], i)
        @free = MallocStats.function("free", [p], ::Fiddle::TYPE_VOID)
        @out = ::Fiddle::Pointer.malloc(16, ::Fiddle::RUBY_FREE) # char *, size_t
      end

      def in_use
        parse(xml)
      end

      # In use from the process-wide totals after the last </heap>.
      def parse(text)
        tail = text[(text.rindex("</heap>") || 0)..]
        sizes = tail.scan(TOTAL).to_h { |type, size| [type, Integer(size, 10)] }
        current = tail[CURRENT, 1]
        raise ArgumentError, "malloc_info: no totals" unless current && sizes.size == 3

        Integer(current, 10) - sizes["fast"] - sizes["rest"] + sizes["mmap"]
      end

      private

      def xml
        fp = @open.call(@out, @out + 8)
        raise IOError, "open_memstream failed" if fp.null?

        rc = @info.call(0, fp)
        @close.call(fp)
        addr, size = @out[0, 16].unpack("J2")
        begin
          text = ::Fiddle::Pointer.new(addr).to_str(size)
        ensure
          @free.call(addr)
        end
        raise IOError, "malloc_info failed" unless rc.zero?

        text
      end
    end
  end
end
