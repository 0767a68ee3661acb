# frozen_string_literal: true

# The heap diff's test endpoints (t/64-heapdiff-rails.t). Each body starts
# with the pid of the process that served it.
#
#   hoard  keeps one 20,000-byte string per request, in a global array:
#          a leak whose allocation site is the line marked HOARD below
#   bloat  fills 16 MB once per process, then keeps nothing
#   churn  makes 30,000 short strings and a 1 MB one, keeps none
class HeapController < ApplicationController
  $mt_hoard = []
  $mt_bloat = nil

  def hoard
    $mt_hoard << ("h" * 20_000) # HOARD: the leak's allocation site
    answer("hoard=#{$mt_hoard.size}")
  end

  def bloat
    $mt_bloat ||= Array.new(16 * 16) { "b" * (64 << 10) } # BLOAT
    answer("bloat=#{$mt_bloat.size}")
  end

  def churn
    x = nil
    30_000.times { |i| x = "c#{i}" } # CHURN
    x = "c" * (1 << 20) # CHURN
    answer("churn=#{x.size}")
  end

  private

  def answer(what)
    render plain: "#{Process.pid}\n#{what}\n"
  end
end
