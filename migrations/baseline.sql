-- preflight baseline: {"migrations":["InitialIdentity1700000000000","SessionsKernels1700000100000","Simulations1700000200000","CascadeSimulationChildren1700000300000","EstimatorFileName1700000400000","KernelsTerminatedAtIndex1700000500000","ImagesToPostgres1700000600000","ConcurrencyUsedToRedis1700000700000"]}
--
-- PostgreSQL database dump
--


-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: batch_simulations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.batch_simulations (
    id bigint NOT NULL,
    cluster_id bigint NOT NULL,
    job_dir text,
    array_id integer,
    collect_id integer
);


--
-- Name: batch_tasks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.batch_tasks (
    id bigint NOT NULL
);


--
-- Name: celery_simulations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.celery_simulations (
    id bigint NOT NULL,
    merge_id character varying(64)
);


--
-- Name: celery_tasks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.celery_tasks (
    id bigint NOT NULL,
    celery_id character varying(64)
);


--
-- Name: clusters; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.clusters (
    id bigint NOT NULL,
    name character varying(64) NOT NULL,
    scheduler character varying(16) DEFAULT 'slurm'::character varying NOT NULL,
    endpoint text,
    is_active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: clusters_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.clusters_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: clusters_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.clusters_id_seq OWNED BY public.clusters.id;


--
-- Name: estimators; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.estimators (
    id bigint NOT NULL,
    simulation_id bigint NOT NULL,
    name character varying(256) NOT NULL,
    compressed_data bytea NOT NULL,
    file_name character varying(256) NOT NULL
);


--
-- Name: estimators_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.estimators_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: estimators_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.estimators_id_seq OWNED BY public.estimators.id;


--
-- Name: image_aliases; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.image_aliases (
    alias character varying(256) NOT NULL,
    image_id bigint NOT NULL
);


--
-- Name: images; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.images (
    id bigint NOT NULL,
    name character varying(512) NOT NULL,
    image character varying(512) NOT NULL,
    tag character varying(128) NOT NULL,
    registry character varying(256) NOT NULL,
    architecture character varying(32) DEFAULT 'x86_64'::character varying NOT NULL,
    config_digest character varying(128),
    size_bytes bigint DEFAULT 0 NOT NULL,
    type character varying(16) DEFAULT 'compute'::character varying NOT NULL,
    labels jsonb DEFAULT '{}'::jsonb NOT NULL,
    resources jsonb DEFAULT '{}'::jsonb NOT NULL
);


--
-- Name: images_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.images_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: images_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.images_id_seq OWNED BY public.images.id;


--
-- Name: inputs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.inputs (
    id bigint NOT NULL,
    simulation_id bigint NOT NULL,
    compressed_data bytea NOT NULL
);


--
-- Name: inputs_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.inputs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: inputs_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.inputs_id_seq OWNED BY public.inputs.id;


--
-- Name: kernels; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.kernels (
    id uuid NOT NULL,
    session_id uuid NOT NULL,
    access_key character varying(20) NOT NULL,
    agent character varying(64),
    status character varying(32) DEFAULT 'PENDING'::character varying NOT NULL,
    occupied_slots jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    terminated_at timestamp with time zone
);


--
-- Name: keypair_resource_policies; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.keypair_resource_policies (
    name character varying(256) NOT NULL,
    total_resource_slots jsonb DEFAULT '{}'::jsonb NOT NULL,
    max_concurrent_sessions integer DEFAULT 1 NOT NULL,
    max_containers_per_session integer DEFAULT 1 NOT NULL,
    idle_timeout bigint DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: keypairs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.keypairs (
    access_key character varying(20) NOT NULL,
    secret_key character varying(40) NOT NULL,
    user_id bigint NOT NULL,
    is_active boolean DEFAULT true NOT NULL,
    is_admin boolean DEFAULT false NOT NULL,
    resource_policy character varying(256) NOT NULL,
    rate_limit integer DEFAULT 1000 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_used timestamp with time zone,
    CONSTRAINT keypairs_access_key_check CHECK (((access_key)::text ~ '^AKIA[A-Z2-7]{16}$'::text))
);


--
-- Name: logfiles; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.logfiles (
    id bigint NOT NULL,
    simulation_id bigint NOT NULL,
    compressed_data bytea NOT NULL
);


--
-- Name: logfiles_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.logfiles_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: logfiles_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.logfiles_id_seq OWNED BY public.logfiles.id;


--
-- Name: migrations_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.migrations_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: pages; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.pages (
    id bigint NOT NULL,
    estimator_id bigint NOT NULL,
    page_number integer NOT NULL,
    compressed_data bytea NOT NULL
);


--
-- Name: pages_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.pages_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: pages_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.pages_id_seq OWNED BY public.pages.id;


--
-- Name: sessions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sessions (
    id uuid NOT NULL,
    name character varying(64) NOT NULL,
    access_key character varying(20) NOT NULL,
    status character varying(32) DEFAULT 'PENDING'::character varying NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    terminated_at timestamp with time zone
);


--
-- Name: simulations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.simulations (
    id bigint NOT NULL,
    job_id character varying(64) NOT NULL,
    user_id bigint NOT NULL,
    platform character varying(8) NOT NULL,
    title character varying(256) DEFAULT 'workspace'::character varying NOT NULL,
    input_type character varying(16) NOT NULL,
    sim_type character varying(16) NOT NULL,
    job_state character varying(16) DEFAULT 'UNKNOWN'::character varying NOT NULL,
    start_time timestamp with time zone DEFAULT now() NOT NULL,
    end_time timestamp with time zone,
    update_key_hash text,
    CONSTRAINT simulations_input_type_check CHECK (((input_type)::text = ANY ((ARRAY['editor'::character varying, 'files'::character varying])::text[]))),
    CONSTRAINT simulations_platform_check CHECK (((platform)::text = ANY ((ARRAY['direct'::character varying, 'batch'::character varying])::text[]))),
    CONSTRAINT simulations_sim_type_check CHECK (((sim_type)::text = ANY ((ARRAY['shieldhit'::character varying, 'topas'::character varying, 'fluka'::character varying])::text[])))
);


--
-- Name: simulations_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.simulations_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: simulations_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.simulations_id_seq OWNED BY public.simulations.id;


--
-- Name: tasks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.tasks (
    id bigint NOT NULL,
    simulation_id bigint NOT NULL,
    task_id integer NOT NULL,
    requested_primaries integer DEFAULT 0 NOT NULL,
    simulated_primaries integer DEFAULT 0 NOT NULL,
    task_state character varying(16) DEFAULT 'PENDING'::character varying NOT NULL,
    estimated_time integer,
    start_time timestamp with time zone,
    end_time timestamp with time zone,
    platform character varying(8) NOT NULL,
    CONSTRAINT tasks_platform_check CHECK (((platform)::text = ANY ((ARRAY['direct'::character varying, 'batch'::character varying])::text[])))
);


--
-- Name: tasks_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.tasks_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: tasks_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.tasks_id_seq OWNED BY public.tasks.id;


--
-- Name: users; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.users (
    id bigint NOT NULL,
    username character varying(64) NOT NULL,
    email character varying(254) NOT NULL,
    auth_provider character varying(16) NOT NULL,
    role character varying(16) DEFAULT 'user'::character varying NOT NULL,
    status character varying(16) DEFAULT 'active'::character varying NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT users_auth_provider_check CHECK (((auth_provider)::text = ANY ((ARRAY['local'::character varying, 'keycloak'::character varying])::text[]))),
    CONSTRAINT users_role_check CHECK (((role)::text = ANY ((ARRAY['superadmin'::character varying, 'admin'::character varying, 'user'::character varying, 'monitor'::character varying])::text[]))),
    CONSTRAINT users_status_check CHECK (((status)::text = ANY ((ARRAY['active'::character varying, 'inactive'::character varying, 'deleted'::character varying, 'before-verification'::character varying])::text[])))
);


--
-- Name: users_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.users_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: users_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.users_id_seq OWNED BY public.users.id;


--
-- Name: users_keycloak; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.users_keycloak (
    user_id bigint NOT NULL,
    cert text,
    private_key text
);


--
-- Name: users_local; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.users_local (
    user_id bigint NOT NULL,
    password_hash text NOT NULL
);


--
-- Name: clusters id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.clusters ALTER COLUMN id SET DEFAULT nextval('public.clusters_id_seq'::regclass);


--
-- Name: estimators id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.estimators ALTER COLUMN id SET DEFAULT nextval('public.estimators_id_seq'::regclass);


--
-- Name: images id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.images ALTER COLUMN id SET DEFAULT nextval('public.images_id_seq'::regclass);


--
-- Name: inputs id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.inputs ALTER COLUMN id SET DEFAULT nextval('public.inputs_id_seq'::regclass);


--
-- Name: logfiles id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.logfiles ALTER COLUMN id SET DEFAULT nextval('public.logfiles_id_seq'::regclass);


--
-- Name: pages id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.pages ALTER COLUMN id SET DEFAULT nextval('public.pages_id_seq'::regclass);


--
-- Name: simulations id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.simulations ALTER COLUMN id SET DEFAULT nextval('public.simulations_id_seq'::regclass);


--
-- Name: tasks id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tasks ALTER COLUMN id SET DEFAULT nextval('public.tasks_id_seq'::regclass);


--
-- Name: users id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users ALTER COLUMN id SET DEFAULT nextval('public.users_id_seq'::regclass);


--
-- Data for Name: batch_simulations; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: batch_tasks; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: celery_simulations; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: celery_tasks; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: clusters; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: estimators; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: image_aliases; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: images; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: inputs; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: kernels; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: keypair_resource_policies; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: keypairs; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: logfiles; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: pages; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: sessions; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: simulations; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: tasks; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: users; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: users_keycloak; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: users_local; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Name: clusters_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.clusters_id_seq', 1, false);


--
-- Name: estimators_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.estimators_id_seq', 1, false);


--
-- Name: images_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.images_id_seq', 1, false);


--
-- Name: inputs_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.inputs_id_seq', 1, false);


--
-- Name: logfiles_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.logfiles_id_seq', 1, false);


--
-- Name: migrations_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.migrations_id_seq', 8, true);


--
-- Name: pages_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.pages_id_seq', 1, false);


--
-- Name: simulations_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.simulations_id_seq', 1, false);


--
-- Name: tasks_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.tasks_id_seq', 1, false);


--
-- Name: users_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.users_id_seq', 1, false);


--
-- Name: batch_simulations batch_simulations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.batch_simulations
    ADD CONSTRAINT batch_simulations_pkey PRIMARY KEY (id);


--
-- Name: batch_tasks batch_tasks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.batch_tasks
    ADD CONSTRAINT batch_tasks_pkey PRIMARY KEY (id);


--
-- Name: celery_simulations celery_simulations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.celery_simulations
    ADD CONSTRAINT celery_simulations_pkey PRIMARY KEY (id);


--
-- Name: celery_tasks celery_tasks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.celery_tasks
    ADD CONSTRAINT celery_tasks_pkey PRIMARY KEY (id);


--
-- Name: clusters clusters_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.clusters
    ADD CONSTRAINT clusters_name_key UNIQUE (name);


--
-- Name: clusters clusters_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.clusters
    ADD CONSTRAINT clusters_pkey PRIMARY KEY (id);


--
-- Name: estimators estimators_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.estimators
    ADD CONSTRAINT estimators_pkey PRIMARY KEY (id);


--
-- Name: image_aliases image_aliases_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.image_aliases
    ADD CONSTRAINT image_aliases_pkey PRIMARY KEY (alias);


--
-- Name: images images_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.images
    ADD CONSTRAINT images_pkey PRIMARY KEY (id);


--
-- Name: inputs inputs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.inputs
    ADD CONSTRAINT inputs_pkey PRIMARY KEY (id);


--
-- Name: kernels kernels_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.kernels
    ADD CONSTRAINT kernels_pkey PRIMARY KEY (id);


--
-- Name: keypair_resource_policies keypair_resource_policies_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.keypair_resource_policies
    ADD CONSTRAINT keypair_resource_policies_pkey PRIMARY KEY (name);


--
-- Name: keypairs keypairs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.keypairs
    ADD CONSTRAINT keypairs_pkey PRIMARY KEY (access_key);


--
-- Name: logfiles logfiles_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.logfiles
    ADD CONSTRAINT logfiles_pkey PRIMARY KEY (id);


--
-- Name: pages pages_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.pages
    ADD CONSTRAINT pages_pkey PRIMARY KEY (id);


--
-- Name: sessions sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (id);


--
-- Name: simulations simulations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.simulations
    ADD CONSTRAINT simulations_pkey PRIMARY KEY (id);


--
-- Name: tasks tasks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT tasks_pkey PRIMARY KEY (id);


--
-- Name: images uq_images_name_architecture; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.images
    ADD CONSTRAINT uq_images_name_architecture UNIQUE (name, architecture);


--
-- Name: pages uq_pages_estimator_page; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.pages
    ADD CONSTRAINT uq_pages_estimator_page UNIQUE (estimator_id, page_number);


--
-- Name: simulations uq_simulations_job_id; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.simulations
    ADD CONSTRAINT uq_simulations_job_id UNIQUE (job_id);


--
-- Name: tasks uq_tasks_simulation_task; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT uq_tasks_simulation_task UNIQUE (simulation_id, task_id);


--
-- Name: users uq_users_username_provider; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT uq_users_username_provider UNIQUE (username, auth_provider);


--
-- Name: users_keycloak users_keycloak_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users_keycloak
    ADD CONSTRAINT users_keycloak_pkey PRIMARY KEY (user_id);


--
-- Name: users_local users_local_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users_local
    ADD CONSTRAINT users_local_pkey PRIMARY KEY (user_id);


--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);


--
-- Name: ix_kernels_access_key; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_kernels_access_key ON public.kernels USING btree (access_key);


--
-- Name: ix_kernels_session_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_kernels_session_id ON public.kernels USING btree (session_id);


--
-- Name: ix_kernels_terminated_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_kernels_terminated_at ON public.kernels USING btree (terminated_at);


--
-- Name: ix_keypairs_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_keypairs_user_id ON public.keypairs USING btree (user_id);


--
-- Name: batch_simulations fk_batch_simulations_cluster_id; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.batch_simulations
    ADD CONSTRAINT fk_batch_simulations_cluster_id FOREIGN KEY (cluster_id) REFERENCES public.clusters(id);


--
-- Name: batch_simulations fk_batch_simulations_id; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.batch_simulations
    ADD CONSTRAINT fk_batch_simulations_id FOREIGN KEY (id) REFERENCES public.simulations(id) ON DELETE CASCADE;


--
-- Name: batch_tasks fk_batch_tasks_id; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.batch_tasks
    ADD CONSTRAINT fk_batch_tasks_id FOREIGN KEY (id) REFERENCES public.tasks(id) ON DELETE CASCADE;


--
-- Name: celery_simulations fk_celery_simulations_id; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.celery_simulations
    ADD CONSTRAINT fk_celery_simulations_id FOREIGN KEY (id) REFERENCES public.simulations(id) ON DELETE CASCADE;


--
-- Name: celery_tasks fk_celery_tasks_id; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.celery_tasks
    ADD CONSTRAINT fk_celery_tasks_id FOREIGN KEY (id) REFERENCES public.tasks(id) ON DELETE CASCADE;


--
-- Name: estimators fk_estimators_simulation_id; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.estimators
    ADD CONSTRAINT fk_estimators_simulation_id FOREIGN KEY (simulation_id) REFERENCES public.simulations(id) ON DELETE CASCADE;


--
-- Name: inputs fk_inputs_simulation_id; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.inputs
    ADD CONSTRAINT fk_inputs_simulation_id FOREIGN KEY (simulation_id) REFERENCES public.simulations(id) ON DELETE CASCADE;


--
-- Name: logfiles fk_logfiles_simulation_id; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.logfiles
    ADD CONSTRAINT fk_logfiles_simulation_id FOREIGN KEY (simulation_id) REFERENCES public.simulations(id) ON DELETE CASCADE;


--
-- Name: pages fk_pages_estimator_id; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.pages
    ADD CONSTRAINT fk_pages_estimator_id FOREIGN KEY (estimator_id) REFERENCES public.estimators(id) ON DELETE CASCADE;


--
-- Name: simulations fk_simulations_user_id; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.simulations
    ADD CONSTRAINT fk_simulations_user_id FOREIGN KEY (user_id) REFERENCES public.users(id);


--
-- Name: tasks fk_tasks_simulation_id; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT fk_tasks_simulation_id FOREIGN KEY (simulation_id) REFERENCES public.simulations(id) ON DELETE CASCADE;


--
-- Name: image_aliases image_aliases_image_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.image_aliases
    ADD CONSTRAINT image_aliases_image_id_fkey FOREIGN KEY (image_id) REFERENCES public.images(id) ON DELETE CASCADE;


--
-- Name: kernels kernels_session_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.kernels
    ADD CONSTRAINT kernels_session_id_fkey FOREIGN KEY (session_id) REFERENCES public.sessions(id) ON DELETE CASCADE;


--
-- Name: keypairs keypairs_resource_policy_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.keypairs
    ADD CONSTRAINT keypairs_resource_policy_fkey FOREIGN KEY (resource_policy) REFERENCES public.keypair_resource_policies(name);


--
-- Name: keypairs keypairs_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.keypairs
    ADD CONSTRAINT keypairs_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);


--
-- Name: sessions sessions_access_key_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_access_key_fkey FOREIGN KEY (access_key) REFERENCES public.keypairs(access_key);


--
-- Name: users_keycloak users_keycloak_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users_keycloak
    ADD CONSTRAINT users_keycloak_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: users_local users_local_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users_local
    ADD CONSTRAINT users_local_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- PostgreSQL database dump complete
--


