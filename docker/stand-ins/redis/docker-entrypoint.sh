#!/bin/sh
# The official redis image's entrypoint, with setpriv instead of gosu: `redis-server ...` started
# as root gets /data chowned and is re-run as the redis user; anything else runs as given.
set -e

# first arg is `-f` or `--some-option`, or a `something.conf`
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi

if [ "$1" = 'redis-server' ] && [ "$(id -u)" = '0' ]; then
  find . \! -user redis -exec chown redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

if [ "$1" = 'redis-server' ]; then
  # The official image builds Redis with protected mode off by default; Debian's keeps it on.
  case " $* " in
    *' --protected-mode '*) ;;
    *) shift; set -- redis-server --protected-mode no "$@" ;;
  esac
fi

um="$(umask)"
if [ "$um" = '0022' ]; then
  umask 0077
fi

exec "$@"
