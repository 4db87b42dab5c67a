# bash completion for dsnflip: commands, options, services and branches.
# Install: copy to /usr/share/bash-completion/completions/dsnflip (make install does).

_dsnflip_services()
{
	local dir=. i
	for ((i = 1; i < COMP_CWORD; i++)); do
		[[ ${COMP_WORDS[i]} == -C ]] && dir=${COMP_WORDS[i + 1]}
	done
	dsnflip -C "$dir" -q config 2>/dev/null | sed -n 's/^  \([A-Za-z0-9_.-]*\):.*/\1/p'
}

_dsnflip()
{
	local cur prev cmd i
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	local globals="-C -f -p --env-file --profile --config --db --server --offline --no-engine -q -v --help"
	local commands="plan config branch roles deploy rollback status observe finish lint help"

	case $prev in
	-C) COMPREPLY=($(compgen -d -- "$cur")); return ;;
	-f | --env-file | --config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--format)
		# status, observe and finish print text or json only (markdown is refused).
		if [[ " ${COMP_WORDS[*]} " == *" lint "* ]]; then
			COMPREPLY=($(compgen -W "text json sarif github" -- "$cur"))
		elif [[ " ${COMP_WORDS[*]} " == *" status "* || " ${COMP_WORDS[*]} " == *" observe "* ||
			" ${COMP_WORDS[*]} " == *" finish "* ]]; then
			COMPREPLY=($(compgen -W "text json" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "text json markdown" -- "$cur"))
		fi
		return ;;
	--fail-on) COMPREPLY=($(compgen -W "error warning note" -- "$cur")); return ;;
	--base) COMPREPLY=($(compgen -W "$(git for-each-ref --format='%(refname:short)' refs/heads refs/tags 2>/dev/null) HEAD" -- "$cur")); return ;;
	--name) COMPREPLY=($(compgen -W "$(git for-each-ref --format='%(refname:short)' refs/heads 2>/dev/null) dsnflip/off-superuser" -- "$cur")); return ;;
	--assume) COMPREPLY=($(compgen -W "$(_dsnflip_services | sed 's/$/=/')" -- "$cur")); compopt -o nospace; return ;;
	--compose-cmd) COMPREPLY=($(compgen -W "docker-compose 'docker compose'" -- "$cur")); return ;;
	--driver) COMPREPLY=($(compgen -W "compose swarm" -- "$cur")); return ;;
	-p | --db | --server | --profile | --window | --lock-timeout) return ;;
	esac

	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-C | -f | -p | --env-file | --profile | --config | --db | --server) ((i++)) ;;
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done

	if [[ -z $cmd ]]; then
		COMPREPLY=($(compgen -W "$globals $commands" -- "$cur"))
		return
	fi
	case $cmd in
	plan) COMPREPLY=($(compgen -W "--format --assume $globals" -- "$cur")) ;;
	config) COMPREPLY=($(compgen -W "--format $globals" -- "$cur")) ;;
	status) COMPREPLY=($(compgen -W "--format --driver --compose-cmd $globals" -- "$cur")) ;;
	branch) COMPREPLY=($(compgen -W "--name --base --force --format $globals" -- "$cur")) ;;
	roles) COMPREPLY=($(compgen -W "sql check apply --format --lock-timeout $globals" -- "$cur")) ;;
	deploy) COMPREPLY=($(compgen -W "--window --resume --driver --compose-cmd $(_dsnflip_services)" -- "$cur")) ;;
	rollback) COMPREPLY=($(compgen -W "--all --driver --compose-cmd $(_dsnflip_services)" -- "$cur")) ;;
	observe) COMPREPLY=($(compgen -W "--window --restart --cleanup --write-config --format --driver --compose-cmd $(_dsnflip_services)" -- "$cur")) ;;
	finish) COMPREPLY=($(compgen -W "--window --format --driver --compose-cmd $globals" -- "$cur")) ;;
	lint) COMPREPLY=($(compgen -W "--format --fail-on --base $globals" -- "$cur")) ;;
	help) COMPREPLY=($(compgen -W "$commands" -- "$cur")) ;;
	esac
}
complete -F _dsnflip dsnflip
